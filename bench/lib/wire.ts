/**
 * The bench's wire helpers live with the load generator that `sockwise bench` ships
 * (src/cli/loadgen/wire.ts); this module keeps the bench's imports where they were.
 *
 * @module
 */
export * from "../../src/cli/loadgen/wire.js";
