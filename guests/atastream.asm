; output: atastream.elf
; atastream - a stream of acknowledged writes for the durability test: for k = 1..COUNT it
; writes sector k filled with the dword k, issues FLUSH CACHE, waits for it to complete
; (ATA/ATAPI-6: BSY clear, no ERR), and only then prints "flushed k". A host that kills
; the emulator after reading "flushed k" must find sectors 1..k in the image
; (tests/ata.test.ts). Needs a raw disk image of more than COUNT sectors.
; Output: "flushed 1" .. "flushed 64", one line each, then
;   atastream: failed checks: 0
; Exit status: the number of failed checks (an ERR after a write or flush counts).

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10
COUNT       equ 64

start:
    cli
    LOAD_GDT gdtr, SEL_KCODE, SEL_KDATA
    mov esp, stack_top
    cld
    call uart_init
    mov dx, ATA_CONTROL
    mov al, 0x02                ; nIEN: polled
    out dx, al
    mov ebx, 1                  ; k
.next:
    mov edi, buffer
    mov eax, ebx
    mov ecx, 128
    rep stosd
    mov eax, ebx
    mov cl, 1
    call ata_set_lba
    mov al, 0x30                ; WRITE SECTORS
    call ata_issue
    call ata_wait_not_busy
    mov esi, buffer
    mov ecx, 256
    mov dx, ATA_DATA
    rep outsw
    call ata_wait_not_busy
    test al, 0x09               ; ERR or DRQ still set
    jnz .failed
    mov al, 0xE7                ; FLUSH CACHE
    call ata_issue
    call ata_wait_not_busy
    test al, 0x01
    jnz .failed
    mov esi, msg_flushed
    call uart_puts
    mov eax, ebx
    call print_dec
    call uart_newline
    inc ebx
    cmp ebx, COUNT
    jbe .next
    mov esi, msg_name
    jmp check_done
.failed:
    movzx eax, al
    CHECK "write or flush without error", eax, 0
    mov esi, msg_name
    jmp check_done

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"
%include "ata.inc"

    FLAT_GDT

msg_name:    db "atastream", 0
msg_flushed: db "flushed ", 0

    BSS_BEGIN
    alignb 16
buffer:         resb 512
stack:          resb 4096
stack_top:
    BSS_END
