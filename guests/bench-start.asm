; output: bench-start.img
;
; bench-start: start-up time benchmark for `npm run bench`: how long from spawning an
; emulator's process to the guest running. A 512-byte boot sector in real mode that
; needs no BIOS service: it programs the 16550 UART at 0x3F8 (115200 8N1, as Bochs's
; UART resets to 5 data bits), writes the marker byte 0x02 and a line feed (vmxlab's
; CLI flushes its serial output at a line end), and exits: out 0xF4 <- 0 (QEMU
; isa-debug-exit, and the port vmxlab and tools/peers/v86.mjs stop on), "Shutdown" to
; port 0x8900 (Bochs), then cli/hlt.
;
; The host takes the time from spawn to the arrival of 0x02. The marker is the 18th
; instruction the guest executes (the OUT after 17 set-up instructions), so the time
; is that of the guest's first instruction to within a few hundred nanoseconds on
; any of the emulators measured. On a BIOS peer (QEMU, Bochs, v86) the time includes
; the BIOS's power-on self test and boot: what a user waits for.
;
; Output: the bytes 0x02 0x0A; exit status 0.

COM1            equ 0x3F8

        bits 16
        org 0x7C00

start:
        mov dx, COM1 + 1                ; 1
        xor al, al                      ; 2
        out dx, al                      ; 3  IER = 0
        mov dx, COM1 + 3                ; 4
        mov al, 0x80                    ; 5
        out dx, al                      ; 6  LCR: DLAB
        mov dx, COM1                    ; 7
        mov al, 1                       ; 8
        out dx, al                      ; 9  DLL = 1 (115200 baud); DLM stays 0 after reset
        mov dx, COM1 + 3                ; 10
        mov al, 0x03                    ; 11
        out dx, al                      ; 12 LCR: 8N1
        mov dx, COM1 + 2                ; 13
        mov al, 0xC7                    ; 14
        out dx, al                      ; 15 FCR: FIFO on, both cleared
        mov dx, COM1                    ; 16
        mov al, 0x02                    ; 17
        out dx, al                      ; 18 marker
        mov al, 10
        out dx, al

        mov dx, COM1 + 5                ; wait for the UART to drain (LSR.TEMT):
.drain: in al, dx                       ; Bochs sends a byte only after its
        test al, 0x40                   ; transmission time
        jz .drain
        xor al, al
        out 0xF4, al                    ; QEMU isa-debug-exit (and vmxlab, v86 runner)
        mov dx, 0x8900                  ; Bochs shutdown port
        mov si, msg_shutdown
.s:     lodsb
        test al, al
        jz .halt
        out dx, al
        jmp .s
.halt:  cli
        hlt
        jmp .halt

msg_shutdown:   db "Shutdown", 0

        times 510 - ($ - $$) db 0
        dw 0xAA55
