import { cardKeys, entityKeys, hashSlot } from '../../../src/state/keys';
import { CARD_A } from './builders';

describe('keys', () => {
  test('hash slots match the Redis Cluster specification', () => {
    expect(hashSlot('123456789')).toBe(0x31c3 % 16384); // the CRC16/XMODEM check value
    expect(hashSlot('foo')).toBe(12182);
    expect(hashSlot('{user1000}.following')).toBe(hashSlot('{user1000}.followers'));
    expect(hashSlot('foo{}{bar}')).toBe(hashSlot('foo{}{bar}')); // an empty tag hashes the whole key
    expect(hashSlot('foo{}{bar}')).not.toBe(hashSlot('bar'));
    expect(hashSlot('foo{{bar}}zap')).toBe(hashSlot('{bar'));
  });

  test('every key of an entity lands in one slot, different entities usually do not', () => {
    const card = cardKeys('cs:', CARD_A);
    const cardSlots = new Set(Object.values(card).map(hashSlot));
    expect(cardSlots.size).toBe(1);
    const merchant = entityKeys('cs:', 'merchant', 'M}1{x');
    expect(new Set(Object.values(merchant).map(hashSlot)).size).toBe(1);
    expect(Object.values(merchant).every((key) => key.startsWith('cs:{merchant:M}1{x}:'))).toBe(true);
    expect(hashSlot(entityKeys('cs:', 'terminal', 'T1').aggregates)).not.toBe(hashSlot(entityKeys('cs:', 'terminal', 'T2').aggregates));
  });

  test('kinds never collide: the same id as a terminal and as a merchant are different keys', () => {
    expect(entityKeys('p:', 'terminal', 'X').aggregates).not.toBe(entityKeys('p:', 'merchant', 'X').aggregates);
  });
});
