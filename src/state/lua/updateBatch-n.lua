--[[
  Counts the transactions of a batch's cards and other entities (accounts, terminals, merchants, devices, IPs), in
  order, into their windowed aggregates, in one call (on a cluster: one call per slot's entities). Idempotent by
  transaction: a card counts an id already among its references as a duplicate; another entity one it has seen
  within the allowed lateness (older ones are refused as too old). Twins: twin.ts applyCardEvent, applyEntityEvent.
  One call for many entities, and the call's constants sent once, because per-call and per-argument costs (in the
  client and in Redis) dominated a batch.

  KEYS      per entity, in entity order: a card's three keys, another's two (KEYS[1] is the first entity's first):
            a card:   aggregates (string, layout "card" of layout.ts);
                      places (string of 8-byte entries: 4-byte hash of "kind:id" for merchant, terminal, country and
                        mcc, 4-byte minute last seen);
                      references (hash: transaction fingerprint -> struct '<I4BH' (event minute, label, #terminalId)
                        .. terminalId .. merchantId)
            another:  aggregates (string, layout as named in ARGV);
                      seen (sorted set of two kinds of member: transaction fingerprint (8 bytes) -> SEEN_OFFSET +
                        event time, ms, read within the allowed lateness; and, in layouts with distinct-card counters,
                        card fingerprint -> latest sighting, ms. One set instead of two saves a key and its expiry per
                        entity; the offset keeps the two score ranges apart, so each is pruned on its own)
  ARGV[1]   allowed lateness, ms
  ARGV[2]   state horizon, ms (a card's places and references are kept this long)
  ARGV[3]   time to live of the keys, ms
  then per entity: its kind — 'card', or the layout name account | acceptor | client — its number of transactions
            n, and n packed transactions:
            a card:   CARD_EVENT_FORMAT (transaction fingerprint (8 bytes), eventTimeMs, amount, flags
                        (CARD_EVENT_FLAGS: declined, small, which place hashes and whether a position is given),
                        merchant, terminal, country and mcc place hashes (4 bytes each, zeros when absent), latitude,
                        longitude (card-present only)), then the tail of its reference: '<H' #terminalId,
                        terminalId, merchantId ('' when absent)
            another:  ENTITY_EVENT_FORMAT (transaction fingerprint (8 bytes), eventTimeMs, amount), then the card
                        fingerprint
  Reply:    binary strings to join (replyBuffer.lua; commands.ts readUpdateBatch), per entity, in order:
            '<B' 1 when its stored aggregates have another layout (nothing follows), else '<BHI4' 0, n and the length
            of the aggregates as read, those bytes ('' when none), then per transaction:
              '<BB' code and 0, '<H' patch count, then per patch '<HH' offset and length and the bytes, to apply in
              order; or (when n = 1 and the script assembled the aggregates, a new or much changed one) '<BB' code
              and 1, '<I4' length and the whole aggregates after it, with '' in place of the aggregates as read;
              then for a card '<dddB' merchantLastSeenMs, terminalLastSeenMs, countryLastSeenMs and the flags
              firstCountry (1), firstMcc (2), firstMerchant (4); for another '<d' cardLastSeenMs
            code: CODES.Applied | CODES.Duplicate | CODES.TooOld; times are NO_TIME when unknown or not kept
]]
--- @include "updateCardAt"
--- @include "updateEntityAt"

local lateness, horizon, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local at, k = 3, 0
local total = #ARGV
while at < total do
  local kind = ARGV[at + 1]
  local count = tonumber(ARGV[at + 2])
  if kind == 'card' then
    updateCardAt(KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], lateness, horizon, ttl, count, ARGV, at + 3)
    k = k + 3
  else
    updateEntityAt(KEYS[k + 1], KEYS[k + 2], kind, lateness, ttl, count, ARGV, at + 3)
    k = k + 2
  end
  at = at + 2 + count
end
return replyChunks()
