export * from './kinds.js';
export * from './kube.js';
export * from './errors.js';
export * from './artifacts.js';
export * from './ocm.js';
export * from './configure.js';
export * from './stage.js';
