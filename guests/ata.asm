; output: ata.elf
; ata - a polled PIO driver for the primary-master ATA disk, or with "drive=1" on the
; command line the primary slave (ATA/ATAPI-6, T13 1410D:
; IDENTIFY DEVICE, READ SECTORS, WRITE SECTORS with 28-bit LBA, FLUSH CACHE, error
; reporting). Needs a raw disk image of at least 3 sectors whose sector 0 starts with
; the 16 bytes "vmxlab disk test" (tests/ata.test.ts makes one). It writes sectors 1-2
; with the pattern dword i = 0xA5000000 + i (i = 0..255), flushes, and reads them back.
; Expected output with a 2048-sector image (verified on QEMU 7.2, -drive if=ide):
;   ata: start
;   status ready after select: ok
;   IDENTIFY: ATA device: ok
;   IDENTIFY: LBA supported: ok
;   IDENTIFY: FLUSH CACHE supported: ok
;   ata: sectors 2048
;   sector 0 signature: ok
;   write of sectors 1-2 without error: ok
;   FLUSH CACHE without error: ok
;   sectors 1-2 read back: ok
;   read past the end sets ERR: ok
;   unknown command aborted: ok
;   ata: failed checks: 0
; Exit status: the number of failed checks.

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10

start:
    cli
    mov [boot_magic], eax       ; for cmdline.inc
    mov [boot_info], ebx
    LOAD_GDT gdtr, SEL_KCODE, SEL_KDATA
    mov esp, stack_top
    cld
    call uart_init
    mov esi, msg_start
    call uart_puts
    mov edi, key_drive1
    call cmdline_find
    test eax, eax
    jz .master
    mov byte [ata_device], ATA_SLAVE
.master:

    mov dx, ATA_CONTROL
    mov al, 0x02                ; nIEN: this driver polls
    out dx, al
    mov dx, ATA_DEVICE
    mov al, [ata_device]        ; the device, LBA
    out dx, al
    call ata_wait_not_busy
    and eax, ST_DRDY | ST_ERR
    CHECK "status ready after select", eax, ST_DRDY

    ; IDENTIFY DEVICE: one sector of data words.
    mov al, 0xEC
    call ata_issue
    call wait_drq
    mov edi, buffer
    mov ecx, 256
    mov dx, ATA_DATA
    rep insw
    movzx eax, word [buffer + 0*2]
    and eax, 0x8000
    CHECK "IDENTIFY: ATA device", eax, 0
    movzx eax, word [buffer + 49*2]
    and eax, 1 << 9
    CHECK "IDENTIFY: LBA supported", eax, 1 << 9
    movzx eax, word [buffer + 83*2]
    and eax, 1 << 12
    CHECK "IDENTIFY: FLUSH CACHE supported", eax, 1 << 12
    mov eax, [buffer + 60*2]    ; words 60-61: user-addressable sectors
    mov [sectors], eax
    mov esi, msg_sectors
    call uart_puts
    call print_dec
    call uart_newline

    ; Sector 0: the signature the host wrote.
    xor eax, eax
    mov cl, 1
    call ata_set_lba
    mov al, 0x20                ; READ SECTORS
    call ata_issue
    call wait_drq
    mov edi, buffer
    mov ecx, 256
    mov dx, ATA_DATA
    rep insw
    mov esi, buffer
    mov edi, signature
    mov ecx, 16
    repe cmpsb
    setne al
    movzx eax, al
    CHECK "sector 0 signature", eax, 0

    ; Sectors 1-2: the pattern, one DRQ block per sector.
    mov edi, buffer
    mov eax, 0xA5000000
    mov ecx, 256
.fill:
    stosd
    inc eax
    loop .fill
    mov eax, 1
    mov cl, 2
    call ata_set_lba
    mov al, 0x30                ; WRITE SECTORS
    call ata_issue
    mov esi, buffer
    mov ebx, 2
.write_sector:
    call wait_drq
    mov ecx, 256
    mov dx, ATA_DATA
    rep outsw
    dec ebx
    jnz .write_sector
    call ata_wait_not_busy
    and eax, ST_ERR | ST_DRQ
    CHECK "write of sectors 1-2 without error", eax, 0

    mov al, 0xE7                ; FLUSH CACHE
    call ata_issue
    call ata_wait_not_busy
    and eax, ST_ERR
    CHECK "FLUSH CACHE without error", eax, 0

    ; Read them back into the second half of the buffer and compare.
    mov eax, 1
    mov cl, 2
    call ata_set_lba
    mov al, 0x20
    call ata_issue
    mov edi, readback
    mov ebx, 2
.read_sector:
    call wait_drq
    mov ecx, 256
    mov dx, ATA_DATA
    rep insw
    dec ebx
    jnz .read_sector
    mov esi, buffer
    mov edi, readback
    mov ecx, 256
    repe cmpsd
    setne al
    movzx eax, al
    CHECK "sectors 1-2 read back", eax, 0

    ; One sector starting at the first LBA past the end.
    mov eax, [sectors]
    mov cl, 1
    call ata_set_lba
    mov al, 0x20
    call ata_issue
    call ata_wait_not_busy
    and eax, ST_ERR
    CHECK "read past the end sets ERR", eax, ST_ERR

    mov al, 0xFF                ; not an ATA command: aborted (ERROR.ABRT)
    call ata_issue
    call ata_wait_not_busy
    mov dx, ATA_ERROR
    in al, dx
    movzx eax, al
    and eax, 0x04
    CHECK "unknown command aborted", eax, 0x04

    mov esi, msg_name
    jmp check_done

; wait_drq: ata_wait_drq, and ERR ends the run as a failed check.
wait_drq:
    call ata_wait_drq
    test al, ST_ERR
    jz .ok
    CHECK "DRQ expected", eax, ST_DRQ | ST_DRDY
    mov esi, msg_name
    jmp check_done
.ok:
    ret

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"
%include "ata.inc"
%include "cmdline.inc"

    FLAT_GDT

signature:  db "vmxlab disk test"
msg_name:   db "ata", 0
msg_start:  db "ata: start", 10, 0
key_drive1: db "drive=1", 0
msg_sectors: db "ata: sectors ", 0

    BSS_BEGIN
boot_magic: resd 1
boot_info:  resd 1
sectors:        resd 1
    alignb 16
buffer:         resb 1024
readback:       resb 1024
stack:          resb 4096
stack_top:
    BSS_END
