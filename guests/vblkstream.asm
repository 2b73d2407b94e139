; output: vblkstream.elf
; vblkstream - a stream of acknowledged writes through virtio-blk for the durability test:
; for k = 1..COUNT it writes sector k filled with the dword k, sends a FLUSH, waits until
; the device has returned it with VIRTIO_BLK_S_OK (virtio 1.2 5.2.6), and only then prints
; "flushed k". A host that kills the emulator after reading "flushed k" must find sectors
; 1..k in the image (tests/virtio-cli.test.ts). Polled (vblk.inc), on the virtio-blk device
; of a QEMU microvm layout. Needs a raw image of more than COUNT sectors.
; Output: "flushed 1" .. "flushed 256", one line each, then
;   vblkstream: failed checks: 0
; Exit status: the number of failed checks (a write or flush that fails counts).

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10
COUNT       equ 256

start:
    cli
    LOAD_GDT gdtr, SEL_KCODE, SEL_KDATA
    mov esp, stack_top
    cld
    call uart_init
    mov eax, VIRTIO_ID_BLOCK
    call virtio_find
    jc .failed
    call vblk_init
    jc .failed
    mov ebx, 1                      ; k
.next:
    mov edi, buffer
    mov eax, ebx
    mov ecx, 128
    rep stosd
    mov eax, ebx
    mov ecx, 1
    mov edi, buffer
    call vblk_write
    test eax, eax
    jnz .failed
    call vblk_flush
    test eax, eax
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
    CHECK "virtio-blk write and flush without error", 1, 0
    mov esi, msg_name
    jmp check_done

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"
%include "virtio.inc"
%include "vblk.inc"

    FLAT_GDT

msg_name:    db "vblkstream", 0
msg_flushed: db "flushed ", 0

    BSS_BEGIN
    alignb 16
buffer:         resb 512
    VBLK_BSS
stack:          resb 4096
stack_top:
    BSS_END
