export * from './layout.js';
export * from './key.js';
export * from './pyjson.js';
export * from './float.js';
export * from './names.js';
