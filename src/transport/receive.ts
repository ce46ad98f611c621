import type { Readable, Socket } from 'zeromq';

/** The next message, or null once the socket has been closed (a normal end, not an error). */
export async function receiveUnlessClosed(socket: Socket & Readable): Promise<Buffer[] | null> {
  try {
    return await socket.receive();
  } catch (error) {
    if (socket.closed) return null;
    throw error;
  }
}
