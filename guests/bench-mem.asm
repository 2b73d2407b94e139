; output: bench-mem.img
;
; bench-mem: load/store speed benchmark for `npm run bench`.
;
; A single 512-byte boot sector, loaded at 0x7C00 in real mode (by a BIOS, or by
; vmxlab's loader without one). It needs no BIOS service: it enables A20 through
; port 0x92, enters 32-bit protected mode with flat segments and paging off,
; programs the 16550 UART at 0x3F8 itself (115200 8N1, FIFO on), fills a 64 KiB
; buffer at 1 MiB (plus one guard dword) with a pattern, then
;
;   writes marker byte 0x02,
;   runs the timed loop: passes over the buffer with dword loads, byte loads
;   (movzx), read-modify-write adds to memory and dword stores,
;   writes marker byte 0x03,
;   prints "instructions=N\n" and "checksum=XXXXXXXX\n" (sum of the buffer),
;   exits: out 0xF4 <- 0 (QEMU isa-debug-exit), "Shutdown" to port 0x8900
;   (Bochs), then cli/hlt forever.
;
; The host timestamps the two marker bytes; MIPS = N / (t(0x03) - t(0x02)).
;
; Instruction count of the timed region. The region is every instruction
; executed after the OUT that writes 0x02, up to and including the OUT that
; writes 0x03:
;
;   set-up before the loops             4   (mov esi, mov ecx, xor edx, xor eax)
;   per pass                            1   (xor ebx,ebx)
;     inner body                        8   per dword (mov load, movzx load,
;                                           add, add to memory, mov store,
;                                           add, cmp, jnz)
;     dwords per pass              16,384   (65536 / 4)
;     after the inner loop              2   (dec ecx, jnz)
;     = 1 + 8 * 16,384 + 2 = 131,075 per pass
;   passes                          1,526
;   after the loops                     3   (mov dx, mov al, out)
;
;   N = 4 + 1,526 * 131,075 + 3 = 4 + 200,020,450 + 3 = 200,020,457
;
; Memory references per pass: 16,384 x (2 loads + 1 read-modify-write + 1 store).

BUF             equ 0x100000            ; 1 MiB: needs A20
BUFBYTES        equ 65536
PASSES          equ 1526
INNER           equ 8
%assign PERPASS 1 + INNER * (BUFBYTES / 4) + 2
%assign NINSN   4 + PASSES * PERPASS + 3
%defstr NSTR    NINSN

COM1            equ 0x3F8

        bits 16
        org 0x7C00

start:
        cli
        cld
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7C00

        in al, 0x92                     ; fast A20 gate
        or al, 2
        and al, 0xFE                    ; never pulse the reset bit
        out 0x92, al

        lgdt [gdt_desc]
        mov eax, cr0
        or al, 1                        ; PE, paging stays off
        mov cr0, eax
        jmp dword 0x08:pm32

        bits 32
pm32:
        mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov esp, 0x7C00
%ifdef PAGED
        ; bench-mem-paged.asm: the same loop with 32-bit paging on. Two 4 MiB pages
        ; (CR4.PSE) map 0-8 MiB one-to-one; the page directory sits at 0x9000
        ; (SDM 3A 4.3, table 4-4: PDE with PS=1).
        mov edi, 0x9000
        xor eax, eax
        mov ecx, 1024
        rep stosd
        mov dword [0x9000], 0x00000083  ; P, R/W, PS: 0-4 MiB
        mov dword [0x9004], 0x00400083  ; 4-8 MiB
        mov eax, cr4
        or eax, 0x10                    ; PSE
        mov cr4, eax
        mov eax, 0x9000
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000              ; PG
        mov cr0, eax
%endif

        call uart_init

        mov edi, BUF                    ; fill buffer + guard dword
        mov ecx, BUFBYTES / 4 + 1
        mov eax, 0x12345678
.fill:  stosd
        add eax, 0x9E3779B9
        loop .fill

        call uart_wait
        mov dx, COM1
        mov al, 0x02                    ; marker: timed region starts
        out dx, al
; ---------------------------------------------------------------- timed region
        mov esi, BUF                    ; 1
        mov ecx, PASSES                 ; 2
        xor edx, edx                    ; 3
        xor eax, eax                    ; 4
.pass:
        xor ebx, ebx                    ; 1 per pass
.inner:
        mov eax, [esi + ebx]            ; 1  load
        movzx edx, byte [esi + ebx + 1] ; 2  byte load
        add eax, edx                    ; 3
        add [esi + ebx + 4], eax        ; 4  read-modify-write
        mov [esi + ebx], eax            ; 5  store
        add ebx, 4                      ; 6
        cmp ebx, BUFBYTES               ; 7
        jnz .inner                      ; 8
        dec ecx                         ; per pass
        jnz .pass                       ; per pass
        mov dx, COM1                    ; 1
        mov al, 0x03                    ; 2
        out dx, al                      ; 3   marker: timed region ends
; ---------------------------------------------------------- end of timed region
        xor ebp, ebp                    ; checksum: sum of the 16,384 dwords
        mov esi, BUF
        mov ecx, BUFBYTES / 4
.sum:   lodsd
        add ebp, eax
        loop .sum

        mov esi, msg_insn
        call puts
        mov esi, msg_sum
        call puts
        mov eax, ebp
        call puthex
        mov al, 10
        call putc

exit:
        mov dx, COM1 + 5                ; let the UART finish sending (LSR.TEMT):
        mov ecx, 10000000               ; Bochs writes a byte out only when its
.drain: in al, dx                       ; transmission time has passed
        test al, 0x40
        loopz .drain
        xor al, al
        out 0xF4, al                    ; QEMU isa-debug-exit
        mov dx, 0x8900                  ; Bochs shutdown port
        mov esi, msg_shutdown
.s:     lodsb
        test al, al
        jz .halt
        out dx, al
        jmp .s
.halt:  cli
        hlt
        jmp .halt

; 16550: 115200 baud (divisor 1), 8N1, FIFO enabled and cleared, no interrupts.
uart_init:
        mov dx, COM1 + 1
        xor al, al
        out dx, al                      ; IER = 0
        mov dx, COM1 + 3
        mov al, 0x80
        out dx, al                      ; LCR: DLAB
        mov dx, COM1
        mov al, 1
        out dx, al                      ; DLL = 1
        mov dx, COM1 + 1
        xor al, al
        out dx, al                      ; DLM = 0
        mov dx, COM1 + 3
        mov al, 0x03
        out dx, al                      ; LCR: 8 data bits, no parity, 1 stop
        mov dx, COM1 + 2
        mov al, 0xC7
        out dx, al                      ; FCR: enable, clear both FIFOs
        mov dx, COM1 + 4
        mov al, 0x03
        out dx, al                      ; MCR: DTR, RTS
        ret

; wait until the transmit holding register is empty; clobbers al, dx
uart_wait:
        mov dx, COM1 + 5
.w:     in al, dx
        test al, 0x20
        jz .w
        ret

; al = byte; clobbers dx
putc:
        push eax
        call uart_wait
        pop eax
        mov dx, COM1
        out dx, al
        ret

; esi = NUL-terminated string
puts:
        lodsb
        test al, al
        jz .done
        call putc
        jmp puts
.done:  ret

; eax = value, printed as 8 upper-case hex digits
puthex:
        mov ecx, 8
.d:     rol eax, 4
        push eax
        and al, 0x0F
        add al, '0'
        cmp al, '9'
        jbe .p
        add al, 'A' - '0' - 10
.p:     call putc
        pop eax
        loop .d
        ret

msg_insn:       db "instructions=", NSTR, 10, 0
msg_sum:        db "checksum=", 0
msg_shutdown:   db "Shutdown", 0

        align 8
gdt:    dq 0
        dq 0x00CF9A000000FFFF           ; 0x08: code, base 0, 4 GiB, 32-bit
        dq 0x00CF92000000FFFF           ; 0x10: data, base 0, 4 GiB
gdt_end:
gdt_desc:
        dw gdt_end - gdt - 1
        dd gdt

        times 510 - ($ - $$) db 0
        dw 0xAA55
