/** The traffic simulator: a pure, seeded, streaming generator of v1 transactions and labels with ground truth. */
export { createSimulation, simulate } from './simulator';
export type { CompromisedPoint, FraudTruth, LabelEvent, PointScenario, SimEvent, SimStats, Simulation, TransactionEvent } from './simulator';
export { FRAUD_SCENARIOS, DEFAULT_FRAUD_RATES, DEFAULT_COMPROMISE, DEFAULT_LABELS, DEFAULT_START_MS, resolveSimOptions } from './options';
export type { FraudScenario, SimOptions, SimOptionsInput, CompromiseOptions, LabelOptions } from './options';
export type { Population } from './population';
export { wireLine, transactionLine, transactionTruthLines, pointTruthLine } from './lines';
export { formatSummary } from './summary';
