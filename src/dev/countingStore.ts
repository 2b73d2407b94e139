// A block store that counts the sectors read and written through it, so the run report
// can give each disk path's bytes moved without each device keeping its own tally.

import type { BlockStore } from "./ataChannel.js";

export const SECTOR_BYTES = 512;

export class CountingStore implements BlockStore {
  sectorsRead = 0;
  sectorsWritten = 0;

  constructor(private readonly inner: BlockStore) {}

  get sectors(): number { return this.inner.sectors; }

  read(lba: number, out: Uint8Array): void {
    this.inner.read(lba, out);
    this.sectorsRead += out.length / SECTOR_BYTES;
  }

  write(lba: number, data: Uint8Array): void {
    this.inner.write(lba, data);
    this.sectorsWritten += data.length / SECTOR_BYTES;
  }

  flush(): void {
    this.inner.flush();
  }
}
