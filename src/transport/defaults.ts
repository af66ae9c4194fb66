// The transport's sizes, named once: what the TCP sender uses unless told otherwise, what the simulator's
// striper assumes, and the largest DATA payload a receiver takes in one frame.

/** Bytes per chunk a stream is cut into (and striped by). */
export const CHUNK_SIZE = 2 ** 20;
/** Bytes a channel may have unacknowledged. */
export const CHANNEL_WINDOW = 8 * 2 ** 20;
/** Largest DATA frame payload a receiver accepts (so the largest chunk a sender may use). */
export const MAX_DATA_PAYLOAD = 16 * 2 ** 20;
/** Largest CONTROL frame payload a receiver accepts. */
export const MAX_CONTROL_PAYLOAD = 2 ** 20;
