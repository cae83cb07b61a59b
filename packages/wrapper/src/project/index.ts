export * from './app-version.js';
export * from './assimilate.js';
export * from './cost-model.js';
export * from './make-work.js';
export * from './seed-ledger.js';
export * from './validate.js';
