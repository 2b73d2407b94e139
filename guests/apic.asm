; output: apic.elf
; apic - the MP 1.4 tables, the local APIC and the I/O APIC as a small SMP-aware 32-bit OS
; meets them. Finds the MP floating pointer (MP spec 1.4 4.1: the last KiB of base memory,
; then the BIOS ROM 0xF0000-0xFFFFF), checksums it and the configuration table, prints the
; processor, ISA bus, I/O APIC and local interrupt entries and where ISA IRQs reach the
; I/O APIC; then (Intel SDM Vol. 3A chapter 11) enables the local APIC, runs its timer
; periodic and one-shot, masks the 8259s and routes the PIT's IRQ 0 through the I/O APIC
; input the MP table names as a fixed vector, sends itself IPIs, holds one off with TPR,
; takes a level-triggered interrupt (the UART's THR-empty on IRQ 4, 82093AA remote IRR
; cleared by the EOI broadcast), and exits through isa-debug-exit. Nothing printed
; depends on timing. The I/O APIC's version register is not printed: QEMU 7.2's default
; I/O APIC is version 0x20 (-global ioapic.version=0x11 gives the 82093AA's 0x11); the MP
; table says 0x11 on both.
; Expected output (verified on QEMU 7.2 -M pc, and the same on vmxlab):
;   apic: start
;   MP floating pointer found: ok
;   MP spec revision 1.4: ok
;   floating pointer length 16 bytes: ok
;   configuration table signature: ok
;   configuration table checksum: ok
;   configuration table revision: ok
;   local APIC address: ok
;   processor: APIC ID 00 version 14 flags 03
;   processor signature matches CPUID: ok
;   processor features match CPUID: ok
;   bus: ISA
;   I/O APIC: ID 00 version 11 flags 01 at FEC00000
;   local interrupt: type 03 flags 00 -> APIC 00 LINTIN 00
;   local interrupt: type 01 flags 00 -> APIC FF LINTIN 01
;   every entry has a known type: ok
;   ISA IRQ 00 -> INTIN 02 type 00 flags 00
;   ISA IRQ 01 -> INTIN 01 type 00 flags 00
;   ISA IRQ 02: no entry
;   ISA IRQ 03 -> INTIN 03 type 00 flags 00
;   ISA IRQ 04 -> INTIN 04 type 00 flags 00
;   ISA IRQ 08 -> INTIN 08 type 00 flags 00
;   ISA IRQ 0C -> INTIN 0C type 00 flags 00
;   ISA IRQ 0E -> INTIN 0E type 00 flags 00
;   CPUID.1:EDX reports an APIC: ok
;   initial APIC ID: ok
;   IA32_APIC_BASE: FEE00000, enabled, BSP: ok
;   APIC ID register: ok
;   APIC version register: ok
;   SVR reads back: ok
;   periodic timer: five interrupts: ok
;   every one woke HLT: ok
;   current count decreases: ok
;   and has not reached 0 yet: ok
;   one-shot timer: one interrupt: ok
;   current count stays 0: ok
;   MP table routes ISA IRQ 0 to INTIN2: ok
;   redirection entry reads back: ok
;   PIT via the I/O APIC: five interrupts: ok
;   its vector was in service in the handler: ok
;   self-IPI waits in IRR while IF=0: ok
;   self-IPI delivered after STI: ok
;   IPI to APIC ID 0 reaches itself: ok
;   and is delivered: ok
;   EOI cleared its ISR bit: ok
;   PPR follows TPR: ok
;   vector 65 held by TPR 70: ok
;   it waits in IRR: ok
;   lowering TPR lets it in: ok
;   PPR in its handler is its class: ok
;   MP table routes ISA IRQ 4 to INTIN4: ok
;   level-triggered vector sets TMR: ok
;   remote IRR set while it is unserviced: ok
;   level-triggered interrupt taken once: ok
;   EOI broadcast cleared remote IRR: ok
;   apic: failed checks: 0
; Exit status: the number of failed checks.

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10
LAPIC       equ 0xFEE00000
L_ID        equ LAPIC + 0x20
L_VER       equ LAPIC + 0x30
L_TPR       equ LAPIC + 0x80
L_PPR       equ LAPIC + 0xA0
L_EOI       equ LAPIC + 0xB0
L_SVR       equ LAPIC + 0xF0
L_ISR       equ LAPIC + 0x100
L_TMR       equ LAPIC + 0x180
L_IRR       equ LAPIC + 0x200
L_ICR_LO    equ LAPIC + 0x300
L_ICR_HI    equ LAPIC + 0x310
L_LVT_TIMER equ LAPIC + 0x320
L_INITIAL   equ LAPIC + 0x380
L_CURRENT   equ LAPIC + 0x390
L_DIVIDE    equ LAPIC + 0x3E0
V_TIMER     equ 0x40
V_PIT       equ 0x50
V_UART      equ 0x58
V_IPI       equ 0x60
V_IPI2      equ 0x61
V_HELD      equ 0x65
V_SPURIOUS  equ 0xFF
PIT_HZ      equ 1193182
PIT_COUNT   equ (PIT_HZ + 50) / 100     ; 100 Hz

; LREG_BIT reg_base, vector - EAX := 1 if `vector`'s bit is set in the 256-bit register
; (eight 32-bit words 16 bytes apart, SDM 3A 11.8.4).
%macro LREG_BIT 2
    mov eax, [%1 + ((%2) >> 5) * 0x10]
    shr eax, (%2) & 31
    and eax, 1
%endmacro

start:
    cli
    LOAD_GDT gdtr, SEL_KCODE, SEL_KDATA
    mov esp, stack_top
    cld
    call uart_init
    mov esi, msg_start
    call uart_puts

    call mp_tables

    ; --- The local APIC as CPUID, IA32_APIC_BASE and its registers show it -------------
    mov eax, 1
    cpuid
    shr edx, 9
    and edx, 1
    CHECK "CPUID.1:EDX reports an APIC", edx, 1
    shr ebx, 24
    CHECK "initial APIC ID", ebx, 0
    mov ecx, 0x1B
    rdmsr
    and eax, 0xFFFFF900
    CHECK "IA32_APIC_BASE: FEE00000, enabled, BSP", eax, 0xFEE00900
    CHECK "APIC ID register", dword [L_ID], 0
    CHECK "APIC version register", dword [L_VER], 0x00050014

    ; IDT: the vectors used below, and the spurious vector.
    mov edi, idt
    mov bl, GATE_INT0
    mov ecx, V_TIMER
    mov eax, timer_handler
    call idt_set_gate
    mov ecx, V_PIT
    mov eax, pit_handler
    call idt_set_gate
    mov ecx, V_UART
    mov eax, uart_handler
    call idt_set_gate
    mov ecx, V_IPI
    mov eax, ipi_handler
    call idt_set_gate
    mov ecx, V_IPI2
    mov eax, ipi_handler
    call idt_set_gate
    mov ecx, V_HELD
    mov eax, held_handler
    call idt_set_gate
    mov ecx, V_SPURIOUS
    mov eax, spurious_handler
    call idt_set_gate
    lidt [idtr]

    ; The 8259s initialised and fully masked: from here on only the APICs interrupt.
    mov ax, 0xFFFF
    call pic_init_pc

    mov dword [L_SVR], 0x100 | V_SPURIOUS   ; software enable (SDM 3A 11.4.7.2)
    mov dword [L_TPR], 0
    CHECK "SVR reads back", dword [L_SVR], 0x1FF

    ; --- Timer, periodic: five interrupts, each waking HLT (SDM 3A 11.5.4) ---------------
    mov dword [L_DIVIDE], 0x3                ; divide by 16
    mov dword [L_LVT_TIMER], 0x20000 | V_TIMER
    mov dword [L_INITIAL], 50000
    sti
.periodic:
    hlt
    cmp dword [timer_ticks], 5
    jb .periodic
    cli
    mov dword [L_LVT_TIMER], 0x10000 | V_TIMER  ; masked
    mov dword [L_INITIAL], 0                 ; stopped
    CHECK "periodic timer: five interrupts", dword [timer_ticks], 5
    CHECK "every one woke HLT", dword [timer_woke], 5

    ; --- Timer, one-shot: the count goes down, one interrupt, then it stays at 0 ---------
    mov dword [timer_ticks], 0
    mov dword [L_DIVIDE], 0xB                ; divide by 1
    mov dword [L_LVT_TIMER], V_TIMER         ; one-shot, unmasked
    mov dword [L_INITIAL], 2000000
    mov ebx, [L_CURRENT]
    mov ecx, 20000
.spin:
    loop .spin
    mov edx, [L_CURRENT]
    xor eax, eax
    cmp edx, ebx
    setb al
    CHECK "current count decreases", eax, 1
    xor eax, eax
    test edx, edx
    setnz al
    CHECK "and has not reached 0 yet", eax, 1
    sti
.oneshot:
    hlt
    cmp dword [timer_ticks], 1
    jb .oneshot
    cli
    CHECK "one-shot timer: one interrupt", dword [timer_ticks], 1
    CHECK "current count stays 0", dword [L_CURRENT], 0
    mov dword [L_LVT_TIMER], 0x10000 | V_TIMER

    ; --- The PIT through the I/O APIC input the MP table gives for ISA IRQ 0 -------------
    mov ebx, [isa_pin]                       ; entry for IRQ 0: INTIN + 1, or 0 if none
    dec ebx
    CHECK "MP table routes ISA IRQ 0 to INTIN2", ebx, 2
    lea eax, [0x10 + ebx*2]
    mov [ioapic_pit_reg], eax
    mov dword [0xFEC00000], eax              ; IOREGSEL: redirection entry, low dword
    mov dword [0xFEC00010], V_PIT            ; fixed, physical, active high, edge, unmasked
    inc eax
    mov dword [0xFEC00000], eax
    mov dword [0xFEC00010], 0                ; destination APIC ID 0
    dec eax
    mov dword [0xFEC00000], eax
    CHECK "redirection entry reads back", dword [0xFEC00010], V_PIT
    mov al, 0x34                             ; channel 0, LSB then MSB, mode 2
    out 0x43, al
    mov al, PIT_COUNT & 0xFF
    out 0x40, al
    mov al, PIT_COUNT >> 8
    out 0x40, al
    sti
.pit:
    hlt
    cmp dword [pit_ticks], 5
    jb .pit
    cli
    mov eax, [ioapic_pit_reg]
    mov dword [0xFEC00000], eax
    mov dword [0xFEC00010], 0x10000 | V_PIT  ; masked: the PIT's edges are dropped now
    CHECK "PIT via the I/O APIC: five interrupts", dword [pit_ticks], 5
    CHECK "its vector was in service in the handler", dword [pit_in_isr], 5

    ; --- Self-IPIs (SDM 3A 11.6.1): with IF=0 they wait in IRR ---------------------------
    mov dword [L_ICR_HI], 0
    mov dword [L_ICR_LO], 0x40000 | V_IPI    ; "self" shorthand, fixed
    LREG_BIT L_IRR, V_IPI
    CHECK "self-IPI waits in IRR while IF=0", eax, 1
    sti
    nop                                      ; the STI shadow ends here
    cli
    CHECK "self-IPI delivered after STI", dword [ipi_count], 1
    mov dword [L_ICR_LO], V_IPI2             ; no shorthand: physical destination 0 (itself)
    LREG_BIT L_IRR, V_IPI2
    CHECK "IPI to APIC ID 0 reaches itself", eax, 1
    sti
    nop
    cli
    CHECK "and is delivered", dword [ipi_count], 2
    LREG_BIT L_ISR, V_IPI2
    CHECK "EOI cleared its ISR bit", eax, 0

    ; --- TPR holds off a lower class (SDM 3A 11.8.3) --------------------------------------
    mov dword [L_TPR], 0x70
    CHECK "PPR follows TPR", dword [L_PPR], 0x70
    mov dword [L_ICR_LO], 0x40000 | V_HELD   ; class 6 <= class 7: held
    sti
    out 0x80, al                             ; a few instructions with IF=1
    out 0x80, al
    cli
    CHECK "vector 65 held by TPR 70", dword [held_count], 0
    LREG_BIT L_IRR, V_HELD
    CHECK "it waits in IRR", eax, 1
    sti
    mov dword [L_TPR], 0
    out 0x80, al                             ; I/O delay: the interrupt is taken by now
    cli
    CHECK "lowering TPR lets it in", dword [held_count], 1
    CHECK "PPR in its handler is its class", dword [held_ppr], 0x60

    ; --- A level-triggered input: the UART's THR-empty interrupt on ISA IRQ 4 -------------
    mov ebx, [isa_pin + 4*4]
    dec ebx
    CHECK "MP table routes ISA IRQ 4 to INTIN4", ebx, 4
    lea eax, [0x10 + ebx*2]
    mov [ioapic_uart_reg], eax
    inc eax
    mov dword [0xFEC00000], eax
    mov dword [0xFEC00010], 0
    dec eax
    mov dword [0xFEC00000], eax
    mov dword [0xFEC00010], 0x8000 | V_UART  ; level-triggered, active high, unmasked
    mov dx, UART_MCR
    mov al, 0x0B                             ; OUT2: the PC gate of the UART's IRQ
    out dx, al
    mov dx, UART_IER
    mov al, 0x02                             ; THR empty interrupt: asserted at once
    out dx, al
    LREG_BIT L_TMR, V_UART
    CHECK "level-triggered vector sets TMR", eax, 1
    mov eax, [ioapic_uart_reg]
    mov dword [0xFEC00000], eax
    mov eax, [0xFEC00010]
    shr eax, 14
    and eax, 1
    CHECK "remote IRR set while it is unserviced", eax, 1
    sti
    nop
    cli
    CHECK "level-triggered interrupt taken once", dword [uart_count], 1
    mov eax, [ioapic_uart_reg]
    mov dword [0xFEC00000], eax
    mov eax, [0xFEC00010]
    CHECK "EOI broadcast cleared remote IRR", eax, 0x8000 | V_UART
    mov dword [0xFEC00010], 0x18000 | V_UART ; masked again
    mov dx, UART_MCR
    mov al, 0x03
    out dx, al

    mov esi, msg_name
    jmp check_done

; --- Interrupt handlers ---------------------------------------------------------------

timer_handler:
    push eax
    inc dword [timer_ticks]
    mov eax, [esp + 4]                   ; the pushed EIP
    cmp byte [eax - 1], 0xF4             ; the byte before the return address is HLT
    jne .eoi
    inc dword [timer_woke]
.eoi:
    mov dword [L_EOI], 0
    pop eax
    iretd

pit_handler:
    push eax
    inc dword [pit_ticks]
    LREG_BIT L_ISR, V_PIT
    add [pit_in_isr], eax
    mov dword [L_EOI], 0
    pop eax
    iretd

ipi_handler:
    inc dword [ipi_count]
    mov dword [L_EOI], 0
    iretd

held_handler:
    push eax
    inc dword [held_count]
    mov eax, [L_PPR]
    mov [held_ppr], eax
    mov dword [L_EOI], 0
    pop eax
    iretd

; Reading IIR reports THR empty and clears it (PC16550D, "Interrupt Identification
; Register"); IER := 0 keeps it off; the line falls before the EOI, so no second message.
uart_handler:
    push eax
    push edx
    inc dword [uart_count]
    mov dx, COM1 + 2
    in al, dx
    mov dx, UART_IER
    xor al, al
    out dx, al
    mov dword [L_EOI], 0
    pop edx
    pop eax
    iretd

; The spurious vector: no EOI (SDM 3A 11.9).
spurious_handler:
    inc dword [spurious_count]
    iretd

; --- MP tables (MP spec 1.4 chapter 4) ------------------------------------------------

; mp_scan: ESI = start, ECX = bytes. Returns ESI = the 16-byte-aligned "_MP_" structure
; whose 16 bytes sum to 0, or 0.
mp_scan:
.next:
    cmp dword [esi], 0x5F504D5F          ; "_MP_"
    jne .skip
    push ecx
    push esi
    mov ecx, 16
    call byte_sum
    pop esi
    pop ecx
    test al, al
    jz .found
.skip:
    add esi, 16
    sub ecx, 16
    ja .next
    xor esi, esi
.found:
    ret

; byte_sum: AL = sum of ECX bytes at ESI (mod 256). Clobbers ESI, ECX.
byte_sum:
    push edx
    xor edx, edx
.add:
    add dl, [esi]
    inc esi
    loop .add
    mov eax, edx
    pop edx
    ret

mp_tables:
    mov esi, 0x9FC00                     ; the last KiB of 640 KiB base memory
    mov ecx, 0x400
    call mp_scan
    test esi, esi
    jnz .have
    mov esi, 0xF0000                     ; the BIOS ROM area
    mov ecx, 0x10000
    call mp_scan
.have:
    xor eax, eax
    test esi, esi
    setnz al
    CHECK "MP floating pointer found", eax, 1
    test esi, esi
    jz .none
    movzx eax, byte [esi + 9]
    CHECK "MP spec revision 1.4", eax, 4
    movzx eax, byte [esi + 8]
    CHECK "floating pointer length 16 bytes", eax, 1
    mov ebx, [esi + 4]                   ; the configuration table
    CHECK "configuration table signature", dword [ebx], 0x504D4350   ; "PCMP"
    movzx ecx, word [ebx + 4]
    mov esi, ebx
    call byte_sum
    movzx eax, al
    CHECK "configuration table checksum", eax, 0
    movzx eax, byte [ebx + 6]
    CHECK "configuration table revision", eax, 4
    CHECK "local APIC address", dword [ebx + 36], LAPIC
    movzx ecx, word [ebx + 34]           ; entry count
    lea esi, [ebx + 44]
    mov dword [isa_bus], -1
.entry:
    test ecx, ecx
    jz .end
    movzx eax, byte [esi]
    cmp eax, 0
    je .cpu
    cmp eax, 1
    je .bus
    cmp eax, 2
    je .ioapic
    cmp eax, 3
    je .intsrc
    cmp eax, 4
    je .local
    jmp .end                             ; an unknown type: stop (its length is unknown)
.cpu:
    mov edi, msg_cpu
    call print_id_version_flags
    call uart_newline
    push ecx
    push ebx
    mov eax, 1
    cpuid
    mov ebx, [esi + 4]                   ; CPU signature
    mov edi, [esi + 8]                   ; feature flags
    push edx
    mov edx, eax
    CHECK "processor signature matches CPUID", ebx, edx
    pop edx
    CHECK "processor features match CPUID", edi, edx
    pop ebx
    pop ecx
    add esi, 20
    dec ecx
    jmp .entry
.bus:
    cmp dword [esi + 2], 0x20415349      ; "ISA "
    jne .bus_done
    cmp word [esi + 6], 0x2020
    jne .bus_done
    movzx eax, byte [esi + 1]
    mov [isa_bus], eax
    push esi
    mov esi, msg_isa
    call uart_puts
    pop esi
.bus_done:
    add esi, 8
    dec ecx
    jmp .entry
.ioapic:
    mov edi, msg_ioapic
    call print_id_version_flags
    push esi
    mov esi, msg_at
    call uart_puts
    pop esi
    mov eax, [esi + 4]
    call print_hex32
    call uart_newline
    add esi, 8
    dec ecx
    jmp .entry
.intsrc:
    movzx eax, byte [esi + 4]            ; source bus
    cmp eax, [isa_bus]
    jne .int_done
    movzx eax, byte [esi + 5]            ; source bus IRQ
    cmp eax, 16
    jae .int_done
    movzx edx, byte [esi + 7]            ; destination INTIN
    inc edx
    mov [isa_pin + eax*4], edx
    movzx edx, word [esi + 2]
    mov [isa_flags + eax*4], edx
    movzx edx, byte [esi + 1]
    mov [isa_type + eax*4], edx
.int_done:
    add esi, 8
    dec ecx
    jmp .entry
.local:
    push esi
    mov esi, msg_local
    call uart_puts
    pop esi
    mov al, [esi + 1]
    call print_hex8
    push esi
    mov esi, msg_flags
    call uart_puts
    pop esi
    mov ax, [esi + 2]
    call print_hex8
    push esi
    mov esi, msg_to_apic
    call uart_puts
    pop esi
    mov al, [esi + 6]
    call print_hex8
    push esi
    mov esi, msg_lint
    call uart_puts
    pop esi
    mov al, [esi + 7]
    call print_hex8
    call uart_newline
    add esi, 8
    dec ecx
    jmp .entry
.end:
    CHECK "every entry has a known type", ecx, 0
    ; The ISA interrupts every PC has, and IRQ 2 (the cascade: no entry).
    mov edi, isa_irqs
.irq:
    movzx ebx, byte [edi]
    cmp ebx, 0xFF
    je .done
    mov esi, msg_isa_irq
    call uart_puts
    mov al, bl
    call print_hex8
    mov eax, [isa_pin + ebx*4]
    test eax, eax
    jnz .routed
    mov esi, msg_no_entry
    call uart_puts
    jmp .irq_next
.routed:
    mov esi, msg_intin
    call uart_puts
    dec eax
    call print_hex8
    mov esi, msg_type
    call uart_puts
    mov eax, [isa_type + ebx*4]
    call print_hex8
    mov esi, msg_flags
    call uart_puts
    mov eax, [isa_flags + ebx*4]
    call print_hex8
    call uart_newline
.irq_next:
    inc edi
    jmp .irq
.none:
.done:
    ret

; print_id_version_flags: EDI = label; prints it, then the entry's bytes 1 (ID), 2
; (version) and 3 (flags) at ESI (MP spec 4.3.1 processor and 4.3.3 I/O APIC entries).
print_id_version_flags:
    push esi
    mov esi, edi
    call uart_puts
    pop esi
    mov al, [esi + 1]
    call print_hex8
    push esi
    mov esi, msg_version
    call uart_puts
    pop esi
    mov al, [esi + 2]
    call print_hex8
    push esi
    mov esi, msg_flags
    call uart_puts
    pop esi
    mov al, [esi + 3]
    jmp print_hex8

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"
%include "pic.inc"

    FLAT_GDT
idtr:   PSEUDO_DESC idt, 256*8

isa_irqs:    db 0, 1, 2, 3, 4, 8, 12, 14, 0xFF
msg_name:    db "apic", 0
msg_start:   db "apic: start", 10, 0
msg_cpu:     db "processor: APIC ID ", 0
msg_version: db " version ", 0
msg_flags:   db " flags ", 0
msg_at:      db " at ", 0
msg_isa:     db "bus: ISA", 10, 0
msg_ioapic:  db "I/O APIC: ID ", 0
msg_local:   db "local interrupt: type ", 0
msg_to_apic: db " -> APIC ", 0
msg_lint:    db " LINTIN ", 0
msg_isa_irq: db "ISA IRQ ", 0
msg_no_entry: db ": no entry", 10, 0
msg_intin:   db " -> INTIN ", 0
msg_type:    db " type ", 0

    BSS_BEGIN
idt:            resq 256
isa_bus:        resd 1
isa_pin:        resd 16
isa_flags:      resd 16
isa_type:       resd 16
timer_ticks:    resd 1
timer_woke:     resd 1
pit_ticks:      resd 1
pit_in_isr:     resd 1
ipi_count:      resd 1
held_count:     resd 1
held_ppr:       resd 1
uart_count:     resd 1
spurious_count: resd 1
ioapic_pit_reg: resd 1
ioapic_uart_reg: resd 1
    alignb 16
stack:          resb 4096
stack_top:
    BSS_END
