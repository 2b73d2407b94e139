; output: iobench.elf
; iobench - cycles per KiB through the ATA PIO path (ATA/ATAPI-6 READ/WRITE SECTORS,
; FLUSH CACHE), measured with RDTSC inside the guest. Writes KIB KiB from LBA 1 in
; commands of 8 sectors (4 KiB), flushes, then reads them back, timing each phase:
;   iobench: ata write KiB: 256
;   iobench: ata write cycles per KiB: W
;   iobench: ata read cycles per KiB: R
;   iobench: data read back: ok
;   iobench: failed checks: 0
; W and R depend on the machine or on vmxlab's cost profile. On QEMU with -icount
; shift=0, RDTSC counts instructions, and vmxlab with a one-cycle-per-instruction profile
; prints the same (tests/guests-vmxlab.test.ts). Needs a raw disk of more than
; 1 + 2*KIB sectors (--disk IMAGE). The virtio and PV paths of issue #5 will add lines.
; Exit status: the number of failed checks.

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10
KIB         equ 256
SECTORS     equ KIB * 2
PER_CMD     equ 8               ; sectors per command

start:
    cli
    LOAD_GDT gdtr, SEL_KCODE, SEL_KDATA
    mov esp, stack_top
    cld
    call uart_init
    mov dx, ATA_CONTROL
    mov al, 0x02                ; nIEN: polled
    out dx, al

    ; The data: dword i of the run = i.
    mov edi, data
    xor eax, eax
    mov ecx, SECTORS * 128
.fill:
    stosd
    inc eax
    loop .fill

    rdtsc
    mov [t0], eax
    mov esi, data
    mov ebx, 1                  ; LBA
.write_cmd:
    mov al, 0x30                ; WRITE SECTORS
    call command
    mov ebp, PER_CMD
.write_sector:
    call wait_drq
    mov ecx, 256
    mov dx, ATA_DATA
    rep outsw
    dec ebp
    jnz .write_sector
    add ebx, PER_CMD
    cmp ebx, 1 + SECTORS
    jb .write_cmd
    call ata_wait_not_busy
    mov al, 0xE7                ; FLUSH CACHE: the writes count once they are durable
    call ata_issue
    call ata_wait_not_busy
    rdtsc
    sub eax, [t0]
    mov [write_cycles], eax

    rdtsc
    mov [t0], eax
    mov edi, readback
    mov ebx, 1
.read_cmd:
    mov al, 0x20                ; READ SECTORS
    call command
    mov ebp, PER_CMD
.read_sector:
    call wait_drq
    mov ecx, 256
    mov dx, ATA_DATA
    rep insw
    dec ebp
    jnz .read_sector
    add ebx, PER_CMD
    cmp ebx, 1 + SECTORS
    jb .read_cmd
    rdtsc
    sub eax, [t0]
    mov [read_cycles], eax

    mov esi, msg_kib
    call uart_puts
    mov eax, KIB
    call print_dec
    call uart_newline
    mov esi, msg_write
    mov eax, [write_cycles]
    call print_per_kib
    mov esi, msg_read
    mov eax, [read_cycles]
    call print_per_kib
    mov esi, data
    mov edi, readback
    mov ecx, SECTORS * 128
    repe cmpsd
    setne al
    movzx eax, al
    CHECK "iobench: data read back", eax, 0
    mov esi, msg_name
    jmp check_done

; command: AL = command, EBX = LBA; PER_CMD sectors.
command:
    push eax
    mov eax, ebx
    mov cl, PER_CMD
    call ata_set_lba
    pop eax
    jmp ata_issue

; print_per_kib: ESI = label, EAX = cycles for KIB KiB.
print_per_kib:
    call uart_puts
    xor edx, edx
    mov ecx, KIB
    div ecx
    call print_dec
    jmp uart_newline

; wait_drq: ata_wait_drq, and ERR ends the run as a failed check.
wait_drq:
    call ata_wait_drq
    test al, ST_ERR
    jz .ok
    CHECK "iobench: DRQ", eax, 0x58
    mov esi, msg_name
    jmp check_done
.ok:
    ret

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"
%include "ata.inc"

    FLAT_GDT

msg_name:  db "iobench", 0
msg_kib:   db "iobench: ata write KiB: ", 0
msg_write: db "iobench: ata write cycles per KiB: ", 0
msg_read:  db "iobench: ata read cycles per KiB: ", 0

    BSS_BEGIN
t0:             resd 1
write_cycles:   resd 1
read_cycles:    resd 1
    alignb 16
data:           resb SECTORS * 512
readback:       resb SECTORS * 512
stack:          resb 4096
stack_top:
    BSS_END
