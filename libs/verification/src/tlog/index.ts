export * from './intoto-v001-entry';
