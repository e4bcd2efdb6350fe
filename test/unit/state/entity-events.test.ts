/** The 4-byte place hashes the card's places are kept by: the same bytes whichever way an id is hashed. */
import { placeHash, PLACE_KINDS } from '../../../src/state/entity-events';

/** FNV-1a (32 bits) of the UTF-8 bytes of "kind:id", little-endian: the reference the stores' bytes must match. */
function referenceHash(text: string): Buffer {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  const out = Buffer.alloc(4);
  out.writeUInt32LE(hash);
  return out;
}

describe('placeHash', () => {
  test('is FNV-1a of the UTF-8 bytes of "kind:id", for ASCII ids and others', () => {
    const ids = ['', 'MER1', 'TER12-0', 'KZ', '5411', '\u007f', '\u0080', 'Алматы', 'café', '😀', `MER${'9'.repeat(200)}`];
    for (const kind of PLACE_KINDS) for (const id of ids) expect(placeHash(kind, id)).toEqual(referenceHash(`${kind}:${id}`));
  });

  test('the reference is FNV-1a (the published 32-bit vector for "a"), and the kind is part of the hash', () => {
    expect(referenceHash('a').readUInt32LE()).toBe(0xe40c292c);
    expect(placeHash('mcc', 'x')).not.toEqual(placeHash('country', 'x'));
  });
});
