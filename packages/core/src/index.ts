export * from './plugin';
export * from './tokens';
export * from './errors';
export * from './contracts';
export * from './experiment';
export * from './random';
export * from './tape';
export * from './steps';
