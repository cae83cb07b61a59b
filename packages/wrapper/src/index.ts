export * from './boinc-files.js';
export * from './boinc-worker.js';
export * from './client-channel.js';
export * from './init-data.js';
export * from './shared-memory.js';
export * from './fraction-file.js';
export * from './job-xml.js';
export * from './project/index.js';
