; output: timer.elf
; timer - the 8254 PIT's channel 0 through the 8259A PIC pair to the CPU: PIC
; initialization (8259A datasheet ICW1-ICW4), a 100 Hz rate generator (82C54 mode 2),
; IRQ 0 as vector 0x20 through a 32-bit interrupt gate, HLT woken by the interrupt,
; OCW3 reads of IRR/ISR, EOI, and the STI interrupt shadow (Intel SDM Vol. 3A 6.8.3,
; Vol. 2B STI: an interrupt pending at STI is taken after the next instruction, here HLT).
; Expected output (verified on QEMU 7.2):
;   timer: start
;   IMR reads back: ok
;   ten ticks: ok
;   every tick woke HLT: ok
;   ISR bit 0 in the handler: ok
;   EOI clears ISR: ok
;   request waits in IRR while IF=0: ok
;   STI shadow covers HLT: ok
;   timer: failed checks: 0
; Exit status: the number of failed checks.

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10
PIT_HZ      equ 1193182
PIT_COUNT   equ (PIT_HZ + 50) / 100     ; 100 Hz
TICKS       equ 10

start:
    cli
    LOAD_GDT gdtr, SEL_KCODE, SEL_KDATA
    mov esp, stack_top
    cld
    call uart_init
    mov esi, msg_start
    call uart_puts

    ; IRQ 0 -> vector 0x20: a 32-bit ring-0 interrupt gate (SDM Figure 6-2).
    mov edi, idt
    mov ecx, 0x20
    mov eax, irq0_handler
    mov bl, GATE_INT0
    call idt_set_gate
    lidt [idtr]

    mov ax, 0xFFFE              ; the PC wiring; only IRQ 0 unmasked
    call pic_init_pc
    in al, 0x21
    movzx eax, al
    CHECK "IMR reads back", eax, 0xFE

    ; Channel 0, LSB then MSB, mode 2 (rate generator), binary.
    mov al, 0x34
    out 0x43, al
    mov al, PIT_COUNT & 0xFF
    out 0x40, al
    mov al, PIT_COUNT >> 8
    out 0x40, al

    sti
.wait:
    hlt
.after_hlt:
    cmp dword [ticks], TICKS
    jb .wait
    cli
    CHECK "ten ticks", dword [ticks], TICKS
    CHECK "every tick woke HLT", dword [woke_hlt], TICKS
    CHECK "ISR bit 0 in the handler", dword [isr_seen], TICKS
    mov al, 0x0B                ; OCW3: read ISR
    out 0x20, al
    in al, 0x20
    movzx eax, al
    CHECK "EOI clears ISR", eax, 0

    ; With IF=0 the next tick stays requested in IRR; STI then HLT takes it only after
    ; the HLT (the shadow), so the handler sees the address after the HLT.
    mov al, 0x0A                ; OCW3: read IRR
    out 0x20, al
.poll:
    in al, 0x20
    test al, 1
    jz .poll
    movzx eax, al
    CHECK "request waits in IRR while IF=0", eax, 1
    mov dword [woke_hlt], 0
    mov dword [expect_eip], .after_shadow
    sti
    hlt
.after_shadow:
    cli
    CHECK "STI shadow covers HLT", dword [woke_hlt], 1

    mov al, 0xFF                ; mask everything again
    out 0x21, al
    mov esi, msg_name
    jmp check_done

; IRQ 0: count, note whether it interrupted the HLT we expected and whether ISR shows
; IR0, then a non-specific EOI (OCW2 0x20).
irq0_handler:
    push eax
    inc dword [ticks]
    mov eax, [esp + 4]          ; the pushed EIP
    cmp eax, [expect_eip]
    jne .not_hlt
    inc dword [woke_hlt]
.not_hlt:
    mov al, 0x0B
    out 0x20, al
    in al, 0x20
    cmp al, 1
    jne .no_isr
    inc dword [isr_seen]
.no_isr:
    mov al, 0x20
    out 0x20, al
    pop eax
    iretd

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"
%include "pic.inc"

    FLAT_GDT
idtr:   PSEUDO_DESC idt, 256*8
expect_eip: dd start.after_hlt

msg_name:   db "timer", 0
msg_start:  db "timer: start", 10, 0

    BSS_BEGIN
idt:            resq 256
ticks:          resd 1
woke_hlt:       resd 1
isr_seen:       resd 1
    alignb 16
stack:          resb 4096
stack_top:
    BSS_END
