// A disk image file as the sectors behind an emulated disk. Writes go to the file before
// the device reports them done; flush() returns only after fsync, so a guest that saw its
// FLUSH CACHE complete has its data on the host's disk (DESIGN.md invariant 6).

import fs from "node:fs";
import type { BlockStore } from "../dev/ataChannel.js";
import { ImageError } from "./loader.js";

export class DiskImage implements BlockStore {
  readonly sectors: number;
  private readonly fd: number;

  /** Opens `path` for reading and writing; any problem is one line (ImageError). */
  constructor(readonly path: string) {
    let fd: number;
    try {
      fd = fs.openSync(path, "r+");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw new ImageError(`disk image ${path}: no such file`);
      if (code === "EACCES" || code === "EPERM" || code === "EROFS") throw new ImageError(`disk image ${path}: not writable (${code}); the disk needs a file it can store writes in`);
      if (code === "EISDIR") throw new ImageError(`disk image ${path}: is a directory`);
      throw new ImageError(`disk image ${path}: cannot open (${code ?? String(e)})`);
    }
    const size = fs.fstatSync(fd).size;
    if (size === 0 || size % 512 !== 0) {
      fs.closeSync(fd);
      throw new ImageError(`disk image ${path}: ${size} bytes is not a whole number of 512-byte sectors (truncated?)`);
    }
    this.fd = fd;
    this.sectors = size / 512;
  }

  read(lba: number, out: Uint8Array): void {
    fs.readSync(this.fd, out, 0, 512, lba * 512);
  }

  write(lba: number, data: Uint8Array): void {
    fs.writeSync(this.fd, data, 0, 512, lba * 512);
  }

  flush(): void {
    fs.fsyncSync(this.fd);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
