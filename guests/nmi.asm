; output: nmi.elf
; nmi - non-maskable interrupts through the local APIC and the I/O APIC (Intel SDM Vol. 3A
; 6.7 "Nonmaskable Interrupt", 6.7.1 "Handling Multiple NMIs", 11.6.1 ICR delivery mode
; 100b; 82093AA datasheet 3.2.4 delivery mode NMI):
;   1. an NMI IPI to the processor's own APIC ID is taken with IF = 0 (through vector 2);
;   2. an NMI raised inside the NMI handler waits until the handler's IRET: it is taken
;      once, after, not nested;
;   3. the PIT's IRQ 0, routed to the I/O APIC input the MP table gives it (2) as an NMI
;      entry, wakes HLT while every maskable source is masked.
; Expected output (verified on QEMU 7.2, -M pc):
;   NMI with IF=0: ok
;   NMIs taken: ok
;   deepest NMI nesting: ok
;   second NMI after the first's IRET: ok
;   PIT via an I/O APIC NMI entry wakes HLT: ok
;   nmi: failed checks: 0

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10
GATE_INT0   equ 0x8E                    ; present, DPL 0, 32-bit interrupt gate
LAPIC       equ 0xFEE00000
L_SVR       equ LAPIC + 0x0F0
L_ICR_LO    equ LAPIC + 0x300
L_ICR_HI    equ LAPIC + 0x310
IOREGSEL    equ 0xFEC00000
IOWIN       equ 0xFEC00010
PIT_PIN     equ 2                       ; ISA IRQ 0 on INTIN2, as the MP tables of QEMU and vmxlab say
SPIN        equ 100000                  ; a bounded wait for an interrupt already sent

start:
    cli
    LOAD_GDT gdtr, SEL_KCODE, SEL_KDATA
    mov esp, stack_top
    cld
    call uart_init

    mov edi, idt
    mov bl, GATE_INT0
    mov ecx, 2
    mov eax, nmi_handler
    call idt_set_gate
    lidt [idtr]
    mov ax, 0xFFFF                      ; both 8259s masked: nothing maskable interrupts
    call pic_init_pc
    mov dword [L_SVR], 0x1FF            ; APIC software-enabled, spurious vector FFH

    ; 1. NMI to APIC ID 0 (itself), no shorthand: ICR delivery mode 100b, vector ignored.
    mov dword [L_ICR_HI], 0
    mov dword [L_ICR_LO], 0x400
    call wait_one_more
    CHECK "NMI with IF=0", dword [nmi_count], 1

    ; 2. The handler sends a second NMI the first time it runs (see nmi_handler).
    mov byte [resend], 1
    mov dword [L_ICR_LO], 0x400
    mov ecx, SPIN
.both:
    cmp dword [nmi_count], 3
    jae .taken
    loop .both
.taken:
    CHECK "NMIs taken", dword [nmi_count], 3
    CHECK "deepest NMI nesting", dword [deepest], 1
    CHECK "second NMI after the first's IRET", dword [resent_seen_at], 3

    ; 3. The PIT's IRQ 0 as an NMI entry of the I/O APIC (edge, destination APIC 0).
    mov dword [IOREGSEL], 0x11 + 2 * PIT_PIN
    mov dword [IOWIN], 0
    mov dword [IOREGSEL], 0x10 + 2 * PIT_PIN
    mov dword [IOWIN], 0x400            ; NMI, physical, active high, edge, unmasked
    mov al, 0x30                        ; channel 0, LSB then MSB, mode 0 (one shot)
    out 0x43, al
    mov al, 0
    out 0x40, al
    mov al, 0x10                        ; 4096 ticks, about 3.4 ms
    out 0x40, al
    sti                                 ; nothing maskable is unmasked: only the NMI can wake HLT
    hlt
    cli
    mov dword [IOREGSEL], 0x10 + 2 * PIT_PIN
    mov dword [IOWIN], 0x10000          ; masked again
    CHECK "PIT via an I/O APIC NMI entry wakes HLT", dword [nmi_count], 4

    mov esi, msg_name
    jmp check_done

; wait_one_more: spins (bounded) until nmi_count moves past the value it had on entry.
wait_one_more:
    push eax
    push ecx
    mov eax, [nmi_count]
    mov ecx, SPIN
.spin:
    cmp [nmi_count], eax
    jne .done
    loop .spin
.done:
    pop ecx
    pop eax
    ret

; The NMI handler counts NMIs and how deeply they nest. When [resend] is set it sends one
; more NMI to itself and waits a while: that NMI must stay pending until this IRET.
nmi_handler:
    push eax
    push ecx
    inc dword [depth]
    mov eax, [depth]
    cmp eax, [deepest]
    jbe .counted
    mov [deepest], eax
.counted:
    inc dword [nmi_count]
    cmp byte [resend], 1
    jne .out
    mov byte [resend], 2
    mov dword [L_ICR_LO], 0x400
    mov ecx, SPIN / 10
.wait:
    loop .wait
    jmp .out2
.out:
    cmp byte [resend], 2                ; the resent NMI: record when it ran
    jne .out2
    mov byte [resend], 0
    mov eax, [nmi_count]
    mov [resent_seen_at], eax
.out2:
    dec dword [depth]
    pop ecx
    pop eax
    iret

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"
%include "pic.inc"

    align 8, db 0
gdt:
    GDT_FLAT_KERNEL
gdt_end:
gdtr:   PSEUDO_DESC gdt, gdt_end - gdt
idtr:   PSEUDO_DESC idt, 256 * 8

msg_name:       db "nmi", 0
nmi_count:      dd 0
depth:          dd 0
deepest:        dd 0
resent_seen_at: dd 0
resend:         db 0

    BSS_BEGIN
    alignb 8
idt:            resq 256
    alignb 16
stack:          resb 4096
stack_top:
    BSS_END
