// Pre-js of the threads flavour: how many pthread workers to start with the module
// (-sPTHREAD_POOL_SIZE=Module.faceattrPoolSize). web/src/core.js passes
// threads - 1; the default is enough for FACEATTR_WASM_MAX_THREADS. At least 1:
// module start-up waits for every pool worker, and for none it would not resume.
Module['faceattrPoolSize'] = Math.max(1, Math.min(@POOL@, Module['faceattrPoolSize'] | 0 || @POOL@));
