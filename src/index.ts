// Public library API.
export * from './errors.js';
export * from './units/index.js';
export { Rng, deriveSeed } from './random/index.js';
export * from './network/index.js';
export * from './transport/selection.js';
export * from './transport/striper.js';
export { SenderSession, type SenderOptions, type SenderStats, type ChannelStats } from './transport/tcp/sender.js';
export { Receiver, ReceiverSession, type ReceiverOptions, type CommitReport, type ChannelClosedEvent } from './transport/tcp/receiver.js';
export { MemorySink, FileSink, DiscardSink, type Sink } from './transport/tcp/sinks.js';
export { ProtocolError } from './transport/tcp/frame.js';
export { AuthError, loadKey } from './transport/tcp/auth.js';
export type { CommitResult, CommitStatus } from './transport/tcp/messages.js';
