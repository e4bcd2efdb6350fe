--[[
  Counts the transactions of one account, terminal, merchant, device or IP, in order, into its windowed aggregates
  and returns the aggregates after each one. Idempotent: a transaction id seen within the allowed lateness changes
  nothing (older ones are refused as too old). Twin: twin.ts applyEntityEvent.

  KEYS[1] aggregates   string, layout ARGV[1] (layout.ts)
  KEYS[2] seen         sorted set: transaction fingerprint -> event time, ms (read within the allowed lateness)
  KEYS[3] cards        sorted set: card fingerprint -> latest sighting, ms (layouts with distinct-card counters)
  ARGV[1] layout name: account | acceptor | client
  ARGV[2] allowed lateness, ms
  ARGV[3] time to live of the keys, ms
  ARGV[4] number of transactions n, followed by 2 values per transaction:
          the event packed as ENTITY_EVENT_FORMAT (transaction fingerprint (8 bytes), eventTimeMs, amount), cardFingerprint
  Reply:  { CODES.StateLayoutMismatch } when the stored aggregates have another layout, else
          { aggregates as read ('' when none), then n entries of
            { code, patches { offset, bytes, ... } to apply in order (when n = 1 and the script assembled the aggregates,
              a new or much changed one: the whole aggregates after it, and '' in place of the aggregates as read),
              cardLastSeenMs } }
          code: CODES.Applied | CODES.Duplicate | CODES.TooOld; cardLastSeenMs is NO_TIME when unknown or not kept
]]
--- @include "updateEntityAt"

return updateEntityAt(KEYS[1], KEYS[2], KEYS[3], ARGV, 0)
