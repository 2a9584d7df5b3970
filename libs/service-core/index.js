'use strict';
// The library is compiled by the root tsc project into dist/; this entry point forwards there.
module.exports = require('../../dist/libs/service-core/src/index.js');
