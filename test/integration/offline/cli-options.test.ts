/**
 * The offline tools as a data scientist types them: a mistyped option ends the tool with exit code 2 and one line
 * naming the option, not a stack trace.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');

function runTool(script: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(tsx, [join(root, script), ...args], { cwd: root }, (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
  });
}

describe.each([
  ['evaluate', 'src/cli/evaluate.ts'],
  ['train', 'src/cli/train.ts'],
  ['backtest', 'src/cli/backtest.ts'],
  ['compromise', 'src/cli/compromise.ts'],
  ['challenger:report', 'src/cli/challenger-report.ts'],
])('npm run %s', (tool, script) => {
  it('names a mistyped option in one line and exits 2', async () => {
    const { code, stdout, stderr } = await runTool(script, ['--out-dirr', 'x']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`${tool}: Unknown option '--out-dirr' (run with --help for the options)\n`);
  });
});
