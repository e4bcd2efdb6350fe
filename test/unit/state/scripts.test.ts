import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ReturnCode } from '../../../src/state/codes';
import { LAYOUTS } from '../../../src/state/layout';
import { SCRIPT_FILES, assembleScripts } from '../../../src/state/scripts';

const luaDir = join(__dirname, '..', '..', '..', 'src', 'state', 'lua');

describe('state scripts', () => {
  const scripts = assembleScripts();

  test('one script per file, the key count from the file name, a versioned command name', () => {
    expect(scripts.map((s) => s.name).sort()).toEqual(Object.keys(SCRIPT_FILES).sort());
    for (const script of scripts) {
      expect(`${script.name}-${script.numberOfKeys ?? "n"}`).toBe(SCRIPT_FILES[script.name]); // -n: a variable number of keys
      expect(script.command).toMatch(new RegExp(`^cs_${script.name}_[0-9a-f]{10}$`));
    }
    expect(assembleScripts().map((s) => s.command)).toEqual(scripts.map((s) => s.command));
  });

  test('each file starts with a header naming its KEYS, ARGV and reply', () => {
    for (const file of Object.values(SCRIPT_FILES)) {
      const text = readFileSync(join(luaDir, `${file}.lua`), 'utf8');
      const header = text.slice(0, text.indexOf(']]'));
      expect(header).toMatch(/KEYS\[1\]/);
      expect(header).toMatch(/ARGV\[1\]/);
      expect(header).toMatch(/Reply:/);
      expect(text).not.toMatch(/redis\.call\(\s*'TIME'/i); // event time comes in ARGV, never from the server clock
    }
  });

  test('includes are resolved once each, and never left as directives', () => {
    for (const script of scripts) {
      expect(script.lua).not.toMatch(/@include/);
      for (const helper of readdirSync(join(luaDir, 'includes')).map((f) => f.replace(/\.lua$/, ''))) {
        const definitions = script.lua.split(`local function ${helper}(`).length - 1;
        expect(definitions).toBeLessThanOrEqual(1);
      }
    }
  });

  test('the prelude carries the return codes and layouts from TypeScript', () => {
    const lua = scripts[0].lua;
    expect(lua).toContain(`StateLayoutMismatch = ${ReturnCode.StateLayoutMismatch}`);
    expect(lua).toContain(`size = ${LAYOUTS.card.size}`);
  });
});
