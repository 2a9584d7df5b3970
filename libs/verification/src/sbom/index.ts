export { CYCLONEDX_PREDICATE_TYPE, MAX_WALKED_COMPONENTS, summariseCycloneDx, type CycloneDxExpectation, type CycloneDxSpecVersion, type CycloneDxSummary } from './cyclonedx';
