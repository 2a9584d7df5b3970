export * from './in-toto-statement';
