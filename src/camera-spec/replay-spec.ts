import { z } from 'zod';

/** A labcast recording played back as a camera (devices/replay/replay-camera.ts). */
export const replayCameraSpecSchema = z
  .object({
    driver: z.literal('replay'),
    path: z.string().min(1).describe('a labcast HDF5 recording'),
    fps: z
      .number()
      .finite()
      .min(0)
      .max(1000)
      .optional()
      .describe('playback rate; absent = the recorded timing, 0 = as fast as the saver takes the frames'),
  })
  .strict();

export type ReplayCameraSpec = z.output<typeof replayCameraSpecSchema>;
