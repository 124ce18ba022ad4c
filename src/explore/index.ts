/** src/explore: exhaustive bounded exploration of a small scope; the other folders import only from here. */
export { harnessExplorer, EXPLORE_SEED } from './explorer.js';
export { exploreTopology, type SearchOptions as ExploreSearchOptions, type SearchResult as ExploreSearchResult } from './search.js';
export { fingerprint } from './fingerprint.js';
export { DEFAULT_SCOPE, scopeTopology } from './scope.js';
export { NONE_USED, NO_SYMMETRY, afterCommand, representative, symmetryOf, type Symmetry, type Used } from './symmetry.js';
export { CI_SCOPES, type CiScope } from './ciScopes.js';
