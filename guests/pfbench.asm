; output: pfbench.elf
; pfbench - page-fault nanobenchmark: cycles per demand-paging fault, measured with RDTSC
; inside the guest (Intel SDM Vol. 3A 4.7 "Page-Fault Exceptions", 6.12.1 "Exception- or
; Interrupt-Handler Procedures"; Vol. 2B RDTSC).
; 0-4 MiB is identity-mapped in 4 KiB pages; the PAGES pages from 8 MiB have no PTE. A
; first pass reads one dword from each of them: every read faults, the #PF handler
; points the PTE at the next free frame and IRETs, and the read is retried. A second
; pass reads the same (now mapped) dwords. Both passes are timed with RDTSC, and
;   cycles per fault = (first pass - second pass) / PAGES
; so the loop's own instructions cancel and what remains is the fault: delivery, the
; handler, IRET and the walks of the faulting and the retried access. A not-present
; entry is never cached in a TLB (SDM 4.10.2.3), so the handler needs no INVLPG.
; The counts are 32-bit (a run is far below 2^32 cycles).
; Output (numbers depend on the machine, or on vmxlab's cost profile):
;   pfbench: 64 faults
;   pfbench: faulting pass cycles: F
;   pfbench: mapped pass cycles: M
;   pfbench: cycles per fault: (F-M)/64
; On QEMU with -icount shift=0, RDTSC counts instructions, so QEMU prints instructions
; per fault; vmxlab prints the same with a profile that prices every instruction at one
; cycle and nothing else (tests/guests-vmxlab.test.ts runs both).
; Exit status 0, or 1 if the handler did not run once per page.

%include "multiboot.inc"

    MULTIBOOT_ELF start

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10
PG_P        equ 1
PG_RW       equ 2
PAGES       equ 64
BENCH_BASE  equ 0x800000        ; PDE 2: the page table pt_bench, all entries zero
FRAME_POOL  equ 0x200000        ; frames handed out by the handler (inside 0-4 MiB)

start:
    cli
    LOAD_GDT gdtr, SEL_KCODE, SEL_KDATA
    mov esp, stack_top
    cld
    call uart_init

    ; #PF -> pf_handler through a 32-bit ring-0 interrupt gate (SDM Figure 6-2).
    mov edi, idt
    mov ecx, 14
    mov eax, pf_handler
    mov bl, GATE_INT0
    call idt_set_gate
    lidt [idtr]

    ; 0-4 MiB identity (SDM Table 4-6), then PDE 0 and PDE 2.
    xor ecx, ecx
.pte:
    mov eax, ecx
    shl eax, 12
    or eax, PG_P | PG_RW
    mov [pt0 + ecx*4], eax
    inc ecx
    cmp ecx, 1024
    jb .pte
    mov dword [pd + 0*4], pt0 + (PG_P | PG_RW)
    mov dword [pd + 2*4], pt_bench + (PG_P | PG_RW)
    mov dword [next_frame], FRAME_POOL
    mov eax, pd
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000          ; CR0.PG
    mov cr0, eax

    call touch_pages            ; EAX = cycles of the faulting pass
    mov [faulting], eax
    call touch_pages            ; the same reads, mapped
    mov [mapped], eax

    mov esi, msg_faults
    call uart_puts
    mov eax, [faults]
    call print_dec
    mov esi, msg_faults_end
    call uart_puts
    mov esi, msg_faulting
    call uart_puts
    mov eax, [faulting]
    call print_dec
    call uart_newline
    mov esi, msg_mapped
    call uart_puts
    mov eax, [mapped]
    call print_dec
    call uart_newline
    mov esi, msg_per_fault
    call uart_puts
    mov eax, [faulting]
    sub eax, [mapped]
    xor edx, edx
    mov ecx, PAGES
    div ecx
    call print_dec
    call uart_newline

    xor eax, eax
    cmp dword [faults], PAGES
    je .exit
    mov eax, 1
.exit:
    jmp guest_exit

; touch_pages: reads one dword from each of the PAGES pages; EAX = RDTSC difference.
touch_pages:
    rdtsc
    mov ebx, eax
    mov edi, BENCH_BASE
    mov ecx, PAGES
.next:
    mov eax, [edi]              ; faults once per page in the first pass
    add edi, 4096
    dec ecx
    jnz .next
    rdtsc
    sub eax, ebx
    ret

; pf_handler: maps the page at CR2 to the next pool frame; the read is then retried.
pf_handler:
    push eax
    push ebx
    mov eax, cr2
    shr eax, 12
    and eax, 0x3ff              ; PTE index in pt_bench
    mov ebx, [next_frame]
    or ebx, PG_P | PG_RW
    mov [pt_bench + eax*4], ebx
    add dword [next_frame], 4096
    inc dword [faults]
    pop ebx
    pop eax
    add esp, 4                  ; the error code (SDM 6.13)
    iretd

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"

    FLAT_GDT
idtr:   PSEUDO_DESC idt, 256*8

msg_faults:     db "pfbench: ", 0
msg_faults_end: db " faults", 10, 0
msg_faulting:   db "pfbench: faulting pass cycles: ", 0
msg_mapped:     db "pfbench: mapped pass cycles: ", 0
msg_per_fault:  db "pfbench: cycles per fault: ", 0

    BSS_BEGIN
    alignb 4096
pd:             resb 4096
pt0:            resb 4096
pt_bench:       resb 4096
idt:            resq 256
next_frame:     resd 1
faults:         resd 1
faulting:       resd 1
mapped:         resd 1
    alignb 16
stack:          resb 4096
stack_top:
    BSS_END
