export * from './schemas';
export * from './validate';
export * from './card';
export * from './transaction';
