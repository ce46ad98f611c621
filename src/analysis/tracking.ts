/**
 * Linking spots into tracks between analysed frames: greedy global nearest
 * neighbour within `maxDistance`. Each frame's spots are matched to the tracks
 * alive, closest pairs first, each spot and track used at most once; a spot
 * left over starts a new track; a track left over may miss up to `maxGap`
 * analysed frames before it ends. Ids are whole numbers from 0, never reused
 * within a run.
 *
 * Candidate pairs come from a grid of `maxDistance`-sized cells, so a frame
 * costs about O(spots + tracks) when spots are sparse, not O(spots · tracks).
 */

export interface TrackPoint {
  readonly x: number;
  readonly y: number;
}

interface Track {
  readonly id: number;
  x: number;
  y: number;
  /** Analysed frames in a row without a match. */
  missed: number;
}

export class TrackLinker {
  private tracks: Track[] = [];
  private nextId = 0;

  constructor(
    readonly maxDistance: number,
    readonly maxGap: number,
  ) {
    if (!(maxDistance > 0) || !Number.isFinite(maxDistance))
      throw new RangeError(`maxDistance must be a positive number, got ${maxDistance}`);
    if (!Number.isSafeInteger(maxGap) || maxGap < 0) throw new RangeError(`maxGap must be a whole number >= 0, got ${maxGap}`);
  }

  /** Tracks alive (matched within the last maxGap + 1 frames). */
  get alive(): number {
    return this.tracks.length;
  }

  /** Forgets every track: the next frame starts new ones (ids keep counting up). */
  reset(): void {
    this.tracks = [];
  }

  /** The track id of each spot, in the order given. */
  link(spots: readonly TrackPoint[]): number[] {
    const cell = this.maxDistance;
    const limit = cell * cell;
    const grid = new Map<string, number[]>();
    this.tracks.forEach((track, index) => {
      const key = `${Math.floor(track.x / cell)},${Math.floor(track.y / cell)}`;
      const list = grid.get(key);
      if (list === undefined) grid.set(key, [index]);
      else list.push(index);
    });

    const pairs: { d2: number; spot: number; track: number }[] = [];
    spots.forEach((spot, s) => {
      const cx = Math.floor(spot.x / cell);
      const cy = Math.floor(spot.y / cell);
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          for (const t of grid.get(`${cx + dx},${cy + dy}`) ?? []) {
            const track = this.tracks[t]!;
            const d2 = (track.x - spot.x) ** 2 + (track.y - spot.y) ** 2;
            if (d2 <= limit) pairs.push({ d2, spot: s, track: t });
          }
        }
      }
    });
    // Closest first; ties by spot then track order, so the result is deterministic.
    pairs.sort((a, b) => a.d2 - b.d2 || a.spot - b.spot || a.track - b.track);

    const ids = new Array<number>(spots.length).fill(-1);
    const matched = new Array<boolean>(this.tracks.length).fill(false);
    for (const pair of pairs) {
      if (ids[pair.spot] !== -1 || matched[pair.track]) continue;
      const track = this.tracks[pair.track]!;
      ids[pair.spot] = track.id;
      matched[pair.track] = true;
      track.x = spots[pair.spot]!.x;
      track.y = spots[pair.spot]!.y;
      track.missed = 0;
    }
    const next: Track[] = [];
    this.tracks.forEach((track, t) => {
      if (matched[t]) next.push(track);
      else if (++track.missed <= this.maxGap) next.push(track);
    });
    spots.forEach((spot, s) => {
      if (ids[s] !== -1) return;
      const track: Track = { id: this.nextId++, x: spot.x, y: spot.y, missed: 0 };
      ids[s] = track.id;
      next.push(track);
    });
    this.tracks = next;
    return ids;
  }
}
