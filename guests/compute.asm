; output: compute.elf
; compute - CPU-bound work for benchmarks: a sieve of Eratosthenes over 0..65535 and a
; table-driven CRC-32 over a 16 KiB generated buffer, both run N times, where N comes
; from "iterations=N" in the multiboot cmdline (default 10).
;
; The buffer: x = 1; for each byte, x = x*1103515245 + 12345 (mod 2^32), byte = (x>>16)&255.
; The CRC is zlib's crc32() chained over the iterations: crc = crc32(buf, crc), i.e. the
; CRC-32/IEEE (reflected, poly 0xEDB88320, init and final xor 0xFFFFFFFF) of the buffer
; repeated N times. Python check:
;   x=1; b=bytearray()
;   for i in range(16384): x=(x*1103515245+12345)&0xffffffff; b.append((x>>16)&255)
;   c=0
;   for i in range(N): c=zlib.crc32(bytes(b), c)
; gives N=1: 0x86EB8BB3, N=2: 0xC0120DC6, N=10: 0xDCC7CF2F, N=100: 0xCA367998.
; There are 6542 primes below 65536.
; Expected output with no cmdline key (verified on QEMU 7.2):
;   compute: iterations=10
;   compute: start
;   compute: done
;   compute: primes below 65536: 6542
;   compute: crc32: 0xDCC7CF2F
; "start" and "done" bracket the timed work, so a host can timestamp them.
; Exit status 0, or 1 if any sieve pass did not count 6542 primes.

%include "multiboot.inc"

    MULTIBOOT_ELF start

SIEVE_N     equ 65536
BUF_BYTES   equ 16384
DEFAULT_N   equ 10

start:
    ; Multiboot spec 3.2: flat segments but undefined GDTR and ESP.
    cli
    mov [boot_magic], eax
    mov [boot_info], ebx
    LOAD_GDT gdtr, 0x08, 0x10
    mov esp, stack_top
    cld

    call uart_init
    call read_iterations        ; -> [iterations]

    mov esi, msg_iter
    call uart_puts
    mov eax, [iterations]
    call print_dec
    call uart_newline

    call crc_make_table
    call make_buffer

    mov esi, msg_start
    call uart_puts

    xor eax, eax
    mov [crc], eax
    mov [bad_count], eax
    mov [primes], eax
    mov ecx, [iterations]
    test ecx, ecx
    jz .work_done
.iteration:
    push ecx
    call sieve                  ; -> EAX = number of primes
    mov [primes], eax
    cmp eax, 6542
    je .sieve_ok
    inc dword [bad_count]
.sieve_ok:
    mov eax, [crc]
    mov esi, buffer
    mov ecx, BUF_BYTES
    call crc32_update
    mov [crc], eax
    pop ecx
    loop .iteration
.work_done:
    mov esi, msg_done
    call uart_puts

    mov esi, msg_primes
    call uart_puts
    mov eax, [primes]
    call print_dec
    call uart_newline
    mov esi, msg_crc
    call uart_puts
    mov eax, [crc]
    call print_hex32
    call uart_newline

    xor eax, eax
    cmp dword [bad_count], 0
    je .exit
    mov eax, 1
.exit:
    jmp guest_exit

; read_iterations: find "iterations=" at the start of the cmdline or after a space
; (QEMU passes "<kernel path> <append string>") and parse the decimal digits after it.
read_iterations:
    mov dword [iterations], DEFAULT_N
    mov edi, key_iterations
    call cmdline_find
    test eax, eax
    jz .done
    xor eax, eax
    xor ecx, ecx                ; digits seen
.digit:
    movzx edx, byte [esi]
    sub edx, '0'
    cmp edx, 9
    ja .end_digits              ; unsigned compare also rejects bytes below '0'
    imul eax, eax, 10
    add eax, edx
    inc esi
    inc ecx
    jmp .digit
.end_digits:
    test ecx, ecx
    jz .done                    ; "iterations=" with no number keeps the default
    mov [iterations], eax
.done:
    ret

; sieve: byte flags for 0..SIEVE_N-1, cross out multiples from p*p. Returns EAX = count.
sieve:
    push ebx
    push ecx
    push edi
    mov edi, sieve_flags
    mov ecx, SIEVE_N / 4
    mov eax, 0x01010101
    rep stosd
    mov byte [sieve_flags + 0], 0
    mov byte [sieve_flags + 1], 0
    mov ebx, 2
.outer:
    mov eax, ebx
    imul eax, ebx
    cmp eax, SIEVE_N
    jae .count
    cmp byte [sieve_flags + ebx], 0
    je .next_p
.cross:
    mov byte [sieve_flags + eax], 0
    add eax, ebx
    cmp eax, SIEVE_N
    jb .cross
.next_p:
    inc ebx
    jmp .outer
.count:
    xor eax, eax
    xor ecx, ecx
.sum:
    movzx ebx, byte [sieve_flags + ecx]
    add eax, ebx
    inc ecx
    cmp ecx, SIEVE_N
    jb .sum
    pop edi
    pop ecx
    pop ebx
    ret

; crc_make_table: crc_table[n] = CRC of the single byte n, reflected form:
; 8 times { c = (c & 1) ? (c >> 1) ^ 0xEDB88320 : c >> 1 }.
crc_make_table:
    xor ecx, ecx
.entry:
    mov eax, ecx
    mov edx, 8
.bit:
    shr eax, 1
    jnc .no_xor
    xor eax, 0xEDB88320
.no_xor:
    dec edx
    jnz .bit
    mov [crc_table + ecx*4], eax
    inc ecx
    cmp ecx, 256
    jb .entry
    ret

; crc32_update: EAX = running CRC (zlib convention, 0 to start), ESI = data,
; ECX = length. Returns EAX = updated CRC.
crc32_update:
    push ebx
    push esi
    not eax
    jecxz .out
.byte:
    movzx ebx, byte [esi]
    xor bl, al
    shr eax, 8
    xor eax, [crc_table + ebx*4]
    inc esi
    loop .byte
.out:
    not eax
    pop esi
    pop ebx
    ret

; make_buffer: fill `buffer` from the LCG described at the top of the file.
make_buffer:
    mov eax, 1
    xor ecx, ecx
.next:
    imul eax, eax, 1103515245
    add eax, 12345
    mov edx, eax
    shr edx, 16
    mov [buffer + ecx], dl
    inc ecx
    cmp ecx, BUF_BYTES
    jb .next
    ret

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"
%include "cmdline.inc"

    align 8, db 0
gdt:
    GDT_FLAT_KERNEL                             ; 0x00 null, 0x08 ring-0 code, 0x10 ring-0 data
gdt_end:
gdtr:   PSEUDO_DESC gdt, gdt_end - gdt

key_iterations: db "iterations=", 0
msg_iter:   db "compute: iterations=", 0
msg_start:  db "compute: start", 10, 0
msg_done:   db "compute: done", 10, 0
msg_primes: db "compute: primes below 65536: ", 0
msg_crc:    db "compute: crc32: 0x", 0

    BSS_BEGIN
boot_magic: resd 1
boot_info:  resd 1
iterations: resd 1
crc:        resd 1
primes:     resd 1
bad_count:  resd 1
    alignb 16
crc_table:  resd 256
sieve_flags: resb SIEVE_N
buffer:     resb BUF_BYTES
stack:      resb 4096
stack_top:
    BSS_END
