// `npm run build` step: tsc emits only JavaScript, so the Lua scripts the compiled service loads at run time are
// copied beside it (dist/src/**/lua/*.lua), and so are the desk's SQL migrations and static files.
const { cpSync, existsSync, readdirSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = join(__dirname, '..');
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name === 'lua' || name === 'migrations' || name === 'static') cpSync(path, join(root, 'dist', relative(root, path)), { recursive: true });
      else walk(path);
    }
  }
}
if (existsSync(join(root, 'src'))) walk(join(root, 'src'));
