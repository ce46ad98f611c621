/**
 * The zeromq socket classes, loaded with require(). zeromq is a CommonJS
 * package: an ES `import` of one makes Node scan its source for the names it
 * exports (cjs-module-lexer) in every process that imports it, ~5 ms of CPU
 * in each of labcast's children as they start, which run two or three to the
 * machine's two cores (docs/performance.md, "Start-up"). The classes are the
 * same objects either way.
 */
import { createRequire } from 'node:module';
import type * as Zmq from 'zeromq';

const zmq = createRequire(import.meta.url)('zeromq') as typeof Zmq;

export const Push = zmq.Push;
export type Push = Zmq.Push;
export const Pull = zmq.Pull;
export type Pull = Zmq.Pull;
export const Publisher = zmq.Publisher;
export type Publisher = Zmq.Publisher;
export const Subscriber = zmq.Subscriber;
export type Subscriber = Zmq.Subscriber;
export const XPublisher = zmq.XPublisher;
export type XPublisher = Zmq.XPublisher;
export const XSubscriber = zmq.XSubscriber;
export type XSubscriber = Zmq.XSubscriber;
export const Router = zmq.Router;
export type Router = Zmq.Router;
export const Dealer = zmq.Dealer;
export type Dealer = Zmq.Dealer;
