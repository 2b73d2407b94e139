; output: multitask.elf
; multitask - two ring-0 threads preempted by the 8254 timer (IRQ 0 switches stacks), and
; COM1 input received by interrupt (IRQ 4: 16550 "received data available", through
; MCR.OUT2 and the 8259A). Thread 1 takes bytes from the receive ring and echoes each
; line in capitals until it reads "quit"; thread 2 only counts, to show it gets the CPU
; while thread 1 waits. Interrupt acceptance and the STI shadow: Intel SDM Vol. 3A 6.8.
; Input (tests/guests-vmxlab.test.ts feeds it to QEMU's and vmxlab's COM1):
;   hello
;   vmxlab
;   quit
; Expected output (verified on QEMU 7.2 with that input on stdin):
;   multitask: start
;   echo: HELLO
;   echo: VMXLAB
;   echo: QUIT
;   multitask: lines 3
;   second thread ran: ok
;   timer preempted thread 1: ok
;   multitask: failed checks: 0
; Exit status: the number of failed checks.

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10
PIT_COUNT   equ 1193                ; about 1 kHz

start:
    cli
    LOAD_GDT gdtr, SEL_KCODE, SEL_KDATA
    mov esp, stack1_top
    cld
    call uart_init_keep_input
    mov esi, msg_start
    call uart_puts

    mov edi, idt
    mov bl, GATE_INT0
    mov ecx, 0x20
    mov eax, irq0_handler
    call idt_set_gate
    mov ecx, 0x24
    mov eax, irq4_handler
    call idt_set_gate
    lidt [idtr]

    mov ax, 0xFFEE              ; unmask IRQ 0 (timer) and IRQ 4 (COM1)
    call pic_init_pc

    ; COM1: "received data available" interrupt, OUT2 on.
    mov dx, 0x3F9
    mov al, 0x01
    out dx, al
    mov dx, 0x3FC
    mov al, 0x0B
    out dx, al

    ; Thread 2's first stack frame, as irq0_handler leaves one: an IRET frame and PUSHAD.
    mov edi, stack2_top
    sub edi, 12
    mov dword [edi], thread2           ; EIP
    mov dword [edi + 4], SEL_KCODE     ; CS
    mov dword [edi + 8], 0x202         ; EFLAGS: IF
    sub edi, 32                        ; PUSHAD area (all zero)
    mov [saved_esp + 4], edi

    mov al, 0x34                        ; PIT channel 0, mode 2
    out 0x43, al
    mov al, PIT_COUNT & 0xFF
    out 0x40, al
    mov al, PIT_COUNT >> 8
    out 0x40, al
    sti

; Thread 1: let the timer switch a few times (so thread 2 surely runs, however early the
; input arrives), then echo lines in capitals until "quit".
.warm_up:
    pause
    cmp dword [switches], 4
    jb .warm_up
thread1:
    mov edi, line
.next_byte:
    call getc
    cmp al, 10
    je .line_done
    cmp al, 'a'
    jb .store
    cmp al, 'z'
    ja .store
    sub al, 'a' - 'A'
.store:
    stosb
    jmp .next_byte
.line_done:
    mov byte [edi], 0
    inc dword [lines]
    mov esi, msg_echo
    call uart_puts
    mov esi, line
    call uart_puts
    call uart_newline
    cmp dword [line], 'QUIT'
    jne thread1
    cli
    mov esi, msg_lines
    call uart_puts
    mov eax, [lines]
    call print_dec
    call uart_newline
    mov eax, [thread2_count]
    test eax, eax
    setnz al
    movzx eax, al
    CHECK "second thread ran", eax, 1
    mov eax, [switches]
    test eax, eax
    setnz al
    movzx eax, al
    CHECK "timer preempted thread 1", eax, 1
    mov al, 0xFF
    out 0x21, al
    mov esi, msg_name
    jmp check_done

; getc: AL = the next received byte; waits (letting the timer switch threads) while the
; ring is empty.
getc:
    cli
    mov ecx, [rx_tail]
    cmp ecx, [rx_head]
    jne .take
    sti
    pause
    jmp getc
.take:
    mov al, [rx_ring + ecx]
    inc ecx
    and ecx, 255
    mov [rx_tail], ecx
    sti
    ret

; Thread 2: counts forever.
thread2:
    inc dword [thread2_count]
    pause
    jmp thread2

; IRQ 0: save this thread's registers on its stack, switch to the other stack, EOI.
irq0_handler:
    pushad
    mov eax, [current]
    mov [saved_esp + eax*4], esp
    xor eax, 1
    mov [current], eax
    mov esp, [saved_esp + eax*4]
    inc dword [switches]
    mov al, 0x20
    out 0x20, al
    popad
    iretd

; IRQ 4: move every received byte into the ring (reading RBR clears the interrupt).
irq4_handler:
    pushad
.more:
    mov dx, 0x3FD
    in al, dx
    test al, 1
    jz .done
    mov dx, 0x3F8
    in al, dx
    mov ecx, [rx_head]
    mov [rx_ring + ecx], al
    inc ecx
    and ecx, 255
    mov [rx_head], ecx
    jmp .more
.done:
    mov al, 0x20
    out 0x20, al
    popad
    iretd

; uart_init_keep_input: uart_init without touching FCR: enabling or clearing the FIFOs
; discards received bytes (PC16550D datasheet, FCR bits 0-1), and input may arrive before
; the guest starts. Without FIFOs (16450 mode) the line waits while RBR is full.
uart_init_keep_input:
    mov dx, 0x3F9
    xor al, al                  ; IER: no interrupts yet
    out dx, al
    mov dx, 0x3FB
    mov al, 0x80                ; DLAB
    out dx, al
    mov dx, 0x3F8
    mov al, 1                   ; 115200 baud
    out dx, al
    mov dx, 0x3F9
    xor al, al
    out dx, al
    mov dx, 0x3FB
    mov al, 0x03                ; 8N1
    out dx, al
    mov dx, 0x3FC
    mov al, 0x03                ; DTR, RTS
    out dx, al
    ret

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"
%include "pic.inc"

    FLAT_GDT
idtr:   PSEUDO_DESC idt, 256*8

msg_name:   db "multitask", 0
msg_start:  db "multitask: start", 10, 0
msg_echo:   db "echo: ", 0
msg_lines:  db "multitask: lines ", 0

    BSS_BEGIN
idt:            resq 256
current:        resd 1
saved_esp:      resd 2
switches:       resd 1
thread2_count:  resd 1
lines:          resd 1
rx_head:        resd 1
rx_tail:        resd 1
rx_ring:        resb 256
line:           resb 256
    alignb 16
stack1:         resb 4096
stack1_top:
stack2:         resb 4096
stack2_top:
    BSS_END
