export * from './names.js';
export * from './conditions.js';
export * from './reconcile.js';
export * from './snapshots.js';
export * from './hints.js';
export * from './temp.js';
export * from './credentials.js';
