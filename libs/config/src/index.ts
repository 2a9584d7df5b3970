export * from './config.error';
export * from './service.config';
export * from './watchlist.loader';
export * from './watchlist.schema';
export * from './registry-auth.config';
export * from './redis-connection';
export * from './regexp-safety';
export * from './watchlist.source';
