; output: vblk.elf
; vblk - a virtio-blk driver over virtio-mmio version 2 (virtio 1.2 4.2 and 5.2), run the
; same on vmxlab and on QEMU's microvm (-M microvm,acpi=off -global
; virtio-mmio.force-legacy=false -device virtio-blk-device,serial=vmxlab-virtio-blk).
; It probes the eight transports at 0xFEB00000 + 0x200*i, negotiates VERSION_1 and FLUSH,
; sets up one queue, reads sector 0 (polled, VIRTQ_AVAIL_F_NO_INTERRUPT), writes sectors
; 1-2 with dword i = 0xC3000000 + i (polled), flushes, writes sector 3 with 0x3C3C3C3C and
; reads sectors 1-3 back with completion interrupts (ISA IRQ 5 + transport index through
; the 8259 pair), asks for the id, and sends a read past the end and a request of unknown
; type. Needs a raw image of 2048 sectors whose sector 0 starts with "vmxlab disk test".
; Expected output (verified on QEMU 7.2 microvm):
;   vblk: start
;   transport 0: device 0
;   transport 1: device 0
;   transport 2: device 0
;   transport 3: device 0
;   transport 4: device 0
;   transport 5: device 0
;   transport 6: device 0
;   transport 7: device 2
;   vblk: virtio-blk at transport 7, IRQ 12
;   features VERSION_1 and FLUSH accepted: ok
;   vblk: sectors 2048
;   sector 0 signature (polled): ok
;   write of sectors 1-2: ok
;   flush: ok
;   write of sector 3 (interrupt): ok
;   sectors 1-3 read back (interrupt): ok
;   vblk: interrupts 2
;   one completion interrupt per request: ok
;   vblk: id vmxlab-virtio-blk
;   get-id: ok
;   vblk: read past the end: status 1
;   read past the end is IOERR: ok
;   vblk: request type 0x10: status 2
;   unknown request type is UNSUPP: ok
;   vblk: failed checks: 0
; Exit status: the number of failed checks.

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10
LAPIC_SVR   equ 0xFEE000F0          ; SDM 3A 11.9: spurious-interrupt vector register
LAPIC_LVT_LINT0 equ 0xFEE00350      ; SDM 3A 11.5.1: LVT LINT0

start:
    cli
    LOAD_GDT gdtr, SEL_KCODE, SEL_KDATA
    mov esp, stack_top
    cld
    call uart_init
    mov esi, msg_start
    call uart_puts

    ; Every transport: "transport i: device N" (N = 4294967295 when no virtio window answers).
    xor ecx, ecx
.probe:
    mov esi, msg_transport
    call uart_puts
    mov eax, ecx
    call print_dec
    mov esi, msg_device
    call uart_puts
    call virtio_transport
    call print_dec
    call uart_newline
    inc ecx
    cmp ecx, VIRTIO_MMIO_COUNT
    jb .probe

    mov eax, VIRTIO_ID_BLOCK
    call virtio_find
    jnc .found
    CHECK "virtio-blk present", 0, 1
    mov esi, msg_name
    jmp check_done
.found:
    mov [blk_base], ebx
    lea eax, [ecx + VIRTIO_IRQ_BASE]
    mov [blk_irq], eax
    mov esi, msg_at
    call uart_puts
    mov eax, ecx
    call print_dec
    mov esi, msg_irq
    call uart_puts
    mov eax, [blk_irq]
    call print_dec
    call uart_newline

    call vblk_init
    setc al
    movzx eax, al
    CHECK "features VERSION_1 and FLUSH accepted", eax, 0
    jnc .ready
    mov esi, msg_name
    jmp check_done
.ready:
    mov esi, msg_sectors
    call uart_puts
    mov eax, [vblk_sectors]
    call print_dec
    call uart_newline

    ; Polled: interrupts stay off and the driver asks the device for none.
    xor eax, eax
    mov ecx, 1
    mov edi, buffer
    call vblk_read
    mov esi, buffer
    mov edi, signature
    mov ecx, 16
    repe cmpsb
    setne dl
    movzx edx, dl
    or eax, edx
    CHECK "sector 0 signature (polled)", eax, 0

    mov edi, buffer
    mov eax, 0xC3000000
    mov ecx, 256
.fill:
    stosd
    inc eax
    loop .fill
    mov eax, 1
    mov ecx, 2
    mov edi, buffer
    call vblk_write
    CHECK "write of sectors 1-2", eax, VBLK_S_OK
    call vblk_flush
    CHECK "flush", eax, VBLK_S_OK

    ; Interrupt-driven from here: IDT gate for the transport's IRQ, PIC unmasked, IF = 1.
    call setup_interrupts
    mov dword [vblk_irq_mode], 1
    mov edi, buffer + 1024
    mov eax, 0x3C3C3C3C
    mov ecx, 128
    rep stosd
    mov eax, 3
    mov ecx, 1
    mov edi, buffer + 1024
    call vblk_write
    CHECK "write of sector 3 (interrupt)", eax, VBLK_S_OK
    mov eax, 1
    mov ecx, 3
    mov edi, readback
    call vblk_read
    mov esi, buffer
    mov edi, readback
    mov ecx, 384
    repe cmpsd
    setne dl
    movzx edx, dl
    or eax, edx
    CHECK "sectors 1-3 read back (interrupt)", eax, 0
    mov esi, msg_interrupts
    call uart_puts
    mov eax, [irq_count]
    call print_dec
    call uart_newline
    CHECK "one completion interrupt per request", eax, 2

    mov edi, id_buffer
    call vblk_get_id
    mov byte [id_buffer + VBLK_ID_BYTES], 0
    mov esi, msg_id
    call uart_puts
    mov esi, id_buffer
    call uart_puts
    call uart_newline
    CHECK "get-id", eax, VBLK_S_OK

    mov eax, [vblk_sectors]         ; the first sector past the end
    mov ecx, 1
    mov edi, readback
    call vblk_read
    mov esi, msg_past_end
    call uart_puts
    call print_dec
    call uart_newline
    CHECK "read past the end is IOERR", eax, VBLK_S_IOERR

    mov eax, 0x10                   ; no request type of virtio 1.2 5.2.6
    xor ecx, ecx
    xor edx, edx
    mov edi, readback
    call vblk_request
    mov esi, msg_unknown
    call uart_puts
    call print_dec
    call uart_newline
    CHECK "unknown request type is UNSUPP", eax, VBLK_S_UNSUPP

    mov esi, msg_name
    jmp check_done

; setup_interrupts: the 8259 pair at vectors 0x20/0x28 with only the transport's IRQ
; (and the cascade) unmasked, an interrupt gate for its vector, then STI.
setup_interrupts:
    mov edi, idt
    mov ecx, [blk_irq]
    add ecx, 0x20                   ; IRQ 0-7 -> 0x20-0x27, 8-15 -> 0x28-0x2F
    mov eax, blk_isr
    mov bl, GATE_INT0
    call idt_set_gate
    lidt [idtr]
    mov eax, 0xFFFF                 ; every line masked but the transport's
    mov ecx, [blk_irq]
    btr eax, ecx
    cmp ecx, 8
    jb .masks
    btr eax, 2                      ; the slave's INT reaches the master on IR2
.masks:
    mov edx, eax
    mov al, dl                      ; master mask: IRQ 0-7
    mov ah, dh                      ; slave mask: IRQ 8-15
    call pic_init_pc
    ; QEMU's microvm firmware leaves the local APIC's LINT0 masked, so the 8259's INTR
    ; never reaches the CPU. A PC BIOS sets up virtual-wire mode (MP spec 3.6.2.2): APIC
    ; software-enabled (SVR bit 8), LINT0 delivering ExtINT. So does this guest.
    mov dword [LAPIC_SVR], 0x1FF
    mov dword [LAPIC_LVT_LINT0], 0x700
    sti
    ret

; blk_isr: acknowledge the transport's interrupt, count it, end it at the PIC(s).
blk_isr:
    push eax
    push ebx
    mov ebx, [blk_base]
    call virtio_irq_ack
    inc dword [irq_count]
    mov al, 0x20                    ; non-specific EOI
    cmp dword [blk_irq], 8
    jb .master
    out 0xA0, al
.master:
    out 0x20, al
    pop ebx
    pop eax
    iret

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"
%include "pic.inc"
%include "virtio.inc"
%include "vblk.inc"

    FLAT_GDT
    align 8, db 0
idtr:       PSEUDO_DESC idt, 48 * 8

signature:  db "vmxlab disk test"
msg_name:   db "vblk", 0
msg_start:  db "vblk: start", 10, 0
msg_transport: db "transport ", 0
msg_device: db ": device ", 0
msg_at:     db "vblk: virtio-blk at transport ", 0
msg_irq:    db ", IRQ ", 0
msg_sectors: db "vblk: sectors ", 0
msg_interrupts: db "vblk: interrupts ", 0
msg_id:     db "vblk: id ", 0
msg_past_end: db "vblk: read past the end: status ", 0
msg_unknown: db "vblk: request type 0x10: status ", 0

    BSS_BEGIN
blk_base:       resd 1
blk_irq:        resd 1
irq_count:      resd 1
    alignb 8
idt:            resb 48 * 8
id_buffer:      resb 24
    alignb 16
buffer:         resb 2048
readback:       resb 2048
    VBLK_BSS
stack:          resb 4096
stack_top:
    BSS_END
