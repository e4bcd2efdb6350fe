--[[
  Counts a card's transactions, in order, into its windowed aggregates. Idempotent: a transaction id already among
  the card's references changes nothing. Twin: twin.ts applyCardEvent.

  KEYS[1] aggregates   string, layout "card" (layout.ts)
  KEYS[2] places       string of 8-byte entries: 4-byte hash of "kind:id" (merchant, terminal, country, mcc), 4-byte minute last seen
  KEYS[3] references   hash: transaction fingerprint -> struct '<I4BH' (event minute, label, #terminalId) .. terminalId .. merchantId
  ARGV[1] allowed lateness, ms
  ARGV[2] state horizon, ms (places and references are kept this long)
  ARGV[3] time to live of the keys, ms
  ARGV[4] number of transactions n, followed by 3 values per transaction:
          the event packed as CARD_EVENT_FORMAT (commands.ts packCardEvent): transaction fingerprint (8 bytes),
            eventTimeMs, amount, flags (CARD_EVENT_FLAGS: declined, small, which place hashes and whether a position
            is given), merchant, terminal, country and mcc place hashes (4 bytes each, zeros when absent), latitude,
            longitude (coordinates only for card-present transactions);
          merchantId, terminalId ('' when absent)
  Reply:  { CODES.StateLayoutMismatch } when the stored aggregates have another layout, else
          { aggregates as read ('' when none), then n entries of
            { code, patches { offset, bytes, ... } to apply in order (when n = 1 and the script assembled the aggregates,
              a new or much changed one: the whole aggregates after it, and '' in place of the aggregates as read),
              merchantLastSeenMs, terminalLastSeenMs,
              countryLastSeenMs, firstCountry (1|0), firstMcc (1|0), firstMerchant (1|0) } }
          code: CODES.Applied | CODES.Duplicate | CODES.TooOld; times are NO_TIME when unknown
]]
--- @include "updateCardAt"

return updateCardAt(KEYS[1], KEYS[2], KEYS[3], ARGV, 0)
