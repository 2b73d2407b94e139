; output: cga.elf
; cga - a console driver on the colour text screen, as a small kernel writes one: clears
; the 80x25 screen at 0xB8000, writes characters at the cursor, scrolls with REP MOVSD /
; REP STOSW when the cursor passes the last row, and moves the hardware cursor through the
; CRT controller (index 0x3D4, data 0x3D5, registers 0x0E-0x0F). Every line also goes to
; COM1, so a test can check that what vmxlab mirrors from the screen is what was written.
; It waits once for the vertical retrace (input status 0x3DA bit 3, a bounded wait), reads
; the cursor location back from the CRT controller and prints it, says whether the retrace
; came, and ends with a line without a newline (left on the screen).
; Expected COM1 output (verified on QEMU 7.2, -M pc):
;   line 1 of 40: the quick brown fox jumps over the lazy dog
;   ... (40 lines)
;   cursor row 24 column 0
;   vertical retrace seen
;   bye

%include "multiboot.inc"

    MULTIBOOT_ELF start

SCREEN      equ 0xB8000
COLUMNS     equ 80
ROWS        equ 25
ATTRIBUTE   equ 0x07                    ; light grey on black
LINES       equ 40

start:
    cli
    LOAD_GDT gdtr, 0x08, 0x10
    mov esp, stack_top
    call uart_init

    ; Clear the screen (the BIOS may have left text there) and home the cursor.
    mov edi, SCREEN
    mov ecx, COLUMNS * ROWS
    mov ax, (ATTRIBUTE << 8) | ' '
    rep stosw
    mov dword [cursor], 0
    call move_cursor

    ; Wait for the start of a vertical retrace: bit 3 clear, then set. Bounded, so a
    ; machine without a VGA (the port reads 0xFF) gets a failed check, not a hang.
    mov dx, 0x3DA
    mov ecx, 1000000
.out_of_retrace:
    in al, dx
    test al, 8
    loopnz .out_of_retrace
    jecxz .retrace_done
.until_retrace:
    in al, dx
    test al, 8
    loopz .until_retrace
.retrace_done:
    mov [retrace_left], ecx

    mov ebx, 1
.line:
    mov esi, msg_line
    call puts
    mov eax, ebx
    call putdec
    mov esi, msg_of
    call puts
    mov eax, LINES
    call putdec
    mov esi, msg_fox
    call puts
    inc ebx
    cmp ebx, LINES
    jbe .line

    ; Read the cursor location back from the CRT controller.
    mov dx, 0x3D4
    mov al, 0x0E
    out dx, al
    inc dx
    in al, dx
    mov ah, al
    dec dx
    mov al, 0x0F
    out dx, al
    inc dx
    in al, dx
    movzx eax, ax
    xor edx, edx
    mov ecx, COLUMNS
    div ecx                             ; EAX = row, EDX = column
    push edx
    mov esi, msg_cursor
    call puts
    call putdec
    mov esi, msg_column
    call puts
    pop eax
    call putdec
    mov al, 10
    call putc

    mov esi, msg_retrace                ; "vertical retrace seen" or "... not seen"
    cmp dword [retrace_left], 0
    jne .seen
    mov esi, msg_no_retrace
.seen:
    call puts

    mov esi, msg_bye                    ; no newline: it stays on the last row
    call puts
    mov al, 10                          ; COM1 gets the line end, the screen does not
    call uart_putc
    xor eax, eax
    jmp guest_exit

; puts: ESI = NUL-terminated string, to the screen and COM1.
puts:
    push eax
    push esi
.next:
    lodsb
    test al, al
    jz .done
    call putc
    jmp .next
.done:
    pop esi
    pop eax
    ret

; putdec: EAX as an unsigned decimal number, to the screen and COM1.
putdec:
    pushad
    mov ebx, 10
    xor ecx, ecx
.divide:
    xor edx, edx
    div ebx
    push edx
    inc ecx
    test eax, eax
    jnz .divide
.print:
    pop eax
    add al, '0'
    call putc
    loop .print
    popad
    ret

; putc: AL to COM1 and to the screen at the cursor; LF moves to the next row.
putc:
    pushad
    call uart_putc
    mov edi, [cursor]
    cmp al, 10
    je .newline
    mov ah, ATTRIBUTE
    mov [SCREEN + edi * 2], ax
    inc edi
    jmp .moved
.newline:
    mov eax, edi                        ; to the start of the next row
    xor edx, edx
    mov ecx, COLUMNS
    div ecx
    inc eax
    imul edi, eax, COLUMNS
.moved:
    cmp edi, COLUMNS * ROWS
    jb .placed
    ; Scroll: rows 1-24 move up one, the last row is cleared.
    push edi
    mov esi, SCREEN + COLUMNS * 2
    mov edi, SCREEN
    mov ecx, COLUMNS * (ROWS - 1) * 2 / 4
    rep movsd
    mov ecx, COLUMNS
    mov ax, (ATTRIBUTE << 8) | ' '
    rep stosw
    pop edi
    sub edi, COLUMNS
.placed:
    mov [cursor], edi
    call move_cursor
    popad
    ret

; move_cursor: the hardware cursor to [cursor] (CRTC registers 0x0E high, 0x0F low).
move_cursor:
    pushad
    mov ebx, [cursor]
    mov dx, 0x3D4
    mov al, 0x0E
    out dx, al
    inc dx
    mov al, bh
    out dx, al
    dec dx
    mov al, 0x0F
    out dx, al
    inc dx
    mov al, bl
    out dx, al
    popad
    ret

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"

    align 8, db 0
gdt:
    GDT_FLAT_KERNEL
gdt_end:
gdtr:   PSEUDO_DESC gdt, gdt_end - gdt

msg_line:   db "line ", 0
msg_of:     db " of ", 0
msg_fox:    db ": the quick brown fox jumps over the lazy dog", 10, 0
msg_cursor: db "cursor row ", 0
msg_column: db " column ", 0
msg_bye:    db "bye", 0
msg_retrace:    db "vertical retrace seen", 10, 0
msg_no_retrace: db "vertical retrace not seen", 10, 0

    BSS_BEGIN
cursor:     resd 1
retrace_left: resd 1
    alignb 16
stack:      resb 4096
stack_top:
    BSS_END
