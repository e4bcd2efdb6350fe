import { WriteBehind } from '../../../src/desk/buffer';

describe('the embedded desk write-behind buffer', () => {
  it('writes everything pushed, in order, in batches, without making push wait', async () => {
    const written: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const buffer = new WriteBehind<number>(
      async (rows) => {
        await gate;
        written.push(rows);
      },
      3,
      100,
      (error) => {
        throw error;
      },
    );
    await buffer.push([1, 2, 3, 4]);
    await buffer.push([5]);
    // the writer is still held: push returned all the same
    expect(written).toEqual([]);
    release();
    await buffer.flush();
    expect(written).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('makes push wait once more than maxRows are waiting, and reports a failed write without stopping', async () => {
    const errors: string[] = [];
    const written: number[] = [];
    let calls = 0;
    const buffer = new WriteBehind<number>(
      async (rows) => {
        if (calls++ === 0) throw new Error('disk full');
        written.push(...rows);
      },
      2,
      3,
      (error) => errors.push(error.message),
    );
    await buffer.push([1, 2, 3, 4, 5, 6]);
    // back-pressure: push resolved only after the writer drained the buffer
    expect(written).toEqual([3, 4, 5, 6]);
    expect(errors).toEqual(['disk full']);
  });
});
