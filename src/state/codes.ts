/**
 * Every code a state script returns. The loader writes this enum into each Lua script as the `CODES` table, so the
 * numbers exist in one place only.
 */
export enum ReturnCode {
  /** The transaction was counted. */
  Applied = 1,
  /** This transaction id was counted before: nothing changed. */
  Duplicate = 2,
  /** Older than the entity's newest event minus the allowed lateness: counted as nothing. */
  TooOld = 3,

  /** First label for this transaction. */
  LabelApplied = 11,
  /** The same label was recorded before: nothing changed. */
  LabelDuplicate = 12,
  /** The label replaced a different one (fraud ↔ genuine); counts moved accordingly. */
  LabelChanged = 13,
  /** The transaction is not (or no longer) in the card's recent references. */
  LabelUnknownTransaction = 14,

  /** A stored aggregate has another size or version than this code expects (a deploy changed the layout). */
  StateLayoutMismatch = -1,
}

/** Label values as stored in references and label sets; 0 means "no label yet". */
export const LABEL_CODE = { fraud: 1, genuine: 2 } as const;
export const NO_LABEL = 0;
