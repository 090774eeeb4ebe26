export * from './value.codec';
