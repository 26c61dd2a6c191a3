#!/usr/bin/env node
// Entry of the installed `p2p-comm-rendezvous` command: the compiled server (dist/server.js,
// built by prepack), configured by the same environment as `npm start` (docs/operations.md).
import '../dist/server.js';
