//! Browser assets: the debugger, the demo and the JS client, served by the binary.
