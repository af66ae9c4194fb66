// Public library API.
export * from './errors.js';
export * from './units/index.js';
export { Rng, deriveSeed } from './random/index.js';
export * from './network/index.js';
export * from './transport/selection.js';
export * from './transport/model.js';
export * from './result.js';
export { resolveScenario, OPTIONS, type Scenario, type ScenarioInput } from './scenario.js';
export { simulate } from './drivers/sim/index.js';
export { PrecopyCore, type MemoryAction, type MemoryEvent, type PrecopyConfig } from './migration/precopy.js';
export { MigrationCore, type Action, type Event, type Cause } from './migration/orchestrator.js';
export { parseFault, FAULT_KINDS, PHASES, MODE_PHASES } from './migration/faults.js';
export { runsCsv, roundsCsv, RUN_COLUMNS, ROUND_COLUMNS } from './report/csv.js';
