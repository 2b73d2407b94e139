; output: pvblk.elf
; pvblk - a blkfront (guests/include/pvblk.inc) for vmxlab's Xen-style PV block device:
; the blkif shared ring, an event channel on IRQ 11, backpressure when the ring is full.
; Needs `vmxlab run --pv-blk IMAGE` with an image of at least 1025 sectors. There is no
; QEMU peer (Xen's blkback is not an emulated device): the oracle is the protocol
; (tests/pvblk.test.ts checks the counts below by hand and the image's contents).
;
; Default: writes sectors 1-100 (dword j of sector i = (i << 16) | j), one request each,
; all queued at once: the 32-entry ring fills and the frontend waits for answers (the
; backend answers one request per 20000 cycles). Then it reads the sectors back with
; 16-sector requests of two segments, FLUSHes, and sends an unknown operation (0x7F), a
; WRITE_BARRIER (not advertised) and a read past the end. Expected output with a
; 2048-sector image:
;   pvblk: start
;   connected: ok
;   ring entries: ok
;   flush advertised: ok
;   pvblk: 2048 sectors
;   writes answered OKAY: ok
;   pvblk: 100 writes, ring found full 68 times, 100 upcalls
;   ring was full at least once: ok
;   reads answered OKAY: ok
;   read back of sectors 1-100: ok
;   FLUSH_DISKCACHE answered OKAY: ok
;   pvblk: operation 0x7F status -2
;   unknown operation gets EOPNOTSUPP: ok
;   WRITE_BARRIER gets EOPNOTSUPP: ok
;   pvblk: read past the end status -1
;   read past the end gets ERROR: ok
;   pvblk: failed checks: 0
;
; With "stream" on the command line (--append stream): for k = 8, 16, ..., 1024 it writes
; sectors k-7..k (every dword of sector i = i), waits for the answers, FLUSHes, and only
; after the FLUSH is answered OKAY prints "flushed k": a host that reads "flushed k" must
; find sectors 1..k in the image even if vmxlab is killed right then (tests/pvblk.test.ts).
; Exit status: the number of failed checks.

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10
WRITES      equ 100
READ_CHUNK  equ 16              ; sectors per read request: two frames, two segments
STREAM_LAST equ 1024
STREAM_BATCH equ 8
ID_READ     equ 101             ; ids 1..100 are the writes
ID_FLUSH    equ 120
ID_UNKNOWN  equ 121
ID_BARRIER  equ 122
ID_PAST_END equ 123

start:
    cli
    mov [boot_magic], eax
    mov [boot_info], ebx
    LOAD_GDT gdtr, SEL_KCODE, SEL_KDATA
    mov esp, stack_top
    cld
    call uart_init
    mov esi, msg_start
    call uart_puts

    mov edi, idt
    mov ecx, PVB_VECTOR
    mov eax, pvb_irq_handler
    mov bl, GATE_INT0
    call idt_set_gate
    lidt [idtr]
    mov ax, 0xF7FB              ; master: only IRQ 2 (cascade); slave: only IRQ 11 (IR3)
    call pic_init_pc

    call pvb_connect
    CHECK "connected", eax, 0
    CHECK "ring entries", dword [PVB_BASE + PVB_RING_SIZE], PVB_RING_ENTRIES
    mov eax, [PVB_BASE + PVB_FEATURES]
    and eax, 1
    CHECK "flush advertised", eax, 1
    mov esi, msg_pvblk
    call uart_puts
    mov eax, [pvb_sectors]
    call print_dec
    mov esi, msg_sectors
    call uart_puts

    call stream_requested
    jc stream

    ; Fill every write buffer first, so that queueing the 100 requests takes far fewer
    ; cycles than one answer (the ring must fill before the first answer comes).
    mov edi, wbuf
    mov ebx, 1
.fill:
    mov eax, ebx
    shl eax, 16
    mov ecx, 128
.fill_dword:
    stosd
    inc eax
    loop .fill_dword
    inc ebx
    cmp ebx, WRITES
    jbe .fill

    mov ebx, 1                  ; id and sector
    mov esi, wbuf
.write:
    mov al, BLKIF_OP_WRITE
    mov edx, ebx
    mov ecx, 1
    call pvb_make_rw
    call pvb_submit
    add esi, 512
    inc ebx
    cmp ebx, WRITES
    jbe .write
    call pvb_drain
    mov eax, [pvb_full_count]
    mov [stream_full], eax
    mov eax, [pvb_upcalls]
    mov [stream_upcalls], eax

    mov ebx, 1
    mov ecx, WRITES
    call count_not_okay
    CHECK "writes answered OKAY", eax, 0
    mov esi, msg_pvblk
    call uart_puts
    mov eax, WRITES
    call print_dec
    mov esi, msg_full
    call uart_puts
    mov eax, [stream_full]
    call print_dec
    mov esi, msg_times
    call uart_puts
    mov eax, [stream_upcalls]
    call print_dec
    mov esi, msg_upcalls
    call uart_puts
    mov eax, [stream_full]
    test eax, eax
    setnz al
    movzx eax, al
    CHECK "ring was full at least once", eax, 1

    ; Read back: sectors 1-100 in requests of 16 (the last of 4), each buffer two frames.
    mov ebx, ID_READ
    mov edx, 1
    mov esi, rbuf
.read:
    mov ecx, WRITES + 1
    sub ecx, edx                ; sectors left
    cmp ecx, READ_CHUNK
    jbe .last
    mov ecx, READ_CHUNK
.last:
    mov al, BLKIF_OP_READ
    call pvb_make_rw
    call pvb_submit
    add edx, ecx
    shl ecx, 9
    add esi, ecx
    inc ebx
    cmp edx, WRITES
    jbe .read
    call pvb_drain
    mov ecx, ebx
    mov ebx, ID_READ
    sub ecx, ebx
    call count_not_okay
    CHECK "reads answered OKAY", eax, 0
    mov esi, wbuf
    mov edi, rbuf
    mov ecx, WRITES * 128
    repe cmpsd
    setne al
    movzx eax, al
    CHECK "read back of sectors 1-100", eax, 0

    mov ebx, ID_FLUSH
    call pvb_flush
    CHECK "FLUSH_DISKCACHE answered OKAY", eax, BLKIF_RSP_OKAY

    mov al, 0x7F
    mov ebx, ID_UNKNOWN
    call pvb_make_op
    call pvb_submit
    call pvb_drain
    mov esi, msg_unknown
    call uart_puts
    mov eax, [pvb_status + ID_UNKNOWN*4]
    call print_signed
    call uart_newline
    CHECK "unknown operation gets EOPNOTSUPP", eax, BLKIF_RSP_EOPNOTSUPP

    mov al, BLKIF_OP_WRITE_BARRIER
    mov ebx, ID_BARRIER
    mov edx, 1
    mov esi, wbuf
    mov ecx, 1
    call pvb_make_rw
    call pvb_submit
    call pvb_drain
    CHECK "WRITE_BARRIER gets EOPNOTSUPP", dword [pvb_status + ID_BARRIER*4], BLKIF_RSP_EOPNOTSUPP

    mov al, BLKIF_OP_READ
    mov ebx, ID_PAST_END
    mov edx, [pvb_sectors]      ; the first sector that does not exist
    mov esi, rbuf
    mov ecx, 1
    call pvb_make_rw
    call pvb_submit
    call pvb_drain
    mov esi, msg_past_end
    call uart_puts
    mov eax, [pvb_status + ID_PAST_END*4]
    call print_signed
    call uart_newline
    CHECK "read past the end gets ERROR", eax, BLKIF_RSP_ERROR

    mov esi, msg_name
    jmp check_done

; stream: the durability stream (see the header). A FLUSH that is not answered OKAY
; ends it with a failed check.
stream:
    mov edx, 1                  ; first sector of the batch
.batch:
    mov edi, sbuf
    mov ebx, edx
.fill_sector:
    mov eax, ebx
    mov ecx, 128
    rep stosd
    inc ebx
    mov eax, ebx
    sub eax, edx
    cmp eax, STREAM_BATCH
    jb .fill_sector
    mov esi, sbuf
    mov ebx, 1                  ; ids 1..8
.write:
    mov al, BLKIF_OP_WRITE
    mov ecx, 1
    call pvb_make_rw
    call pvb_submit
    add esi, 512
    inc edx
    inc ebx
    cmp ebx, STREAM_BATCH
    jbe .write
    mov ebx, 1
    mov ecx, STREAM_BATCH
    call pvb_drain
    call count_not_okay
    test eax, eax
    jnz .failed
    mov ebx, ID_FLUSH
    call pvb_flush
    test eax, eax
    jnz .failed
    mov esi, msg_flushed
    call uart_puts
    lea eax, [edx - 1]
    call print_dec
    call uart_newline
    cmp edx, STREAM_LAST
    jbe .batch
    mov esi, msg_stream_name
    jmp check_done
.failed:
    CHECK "stream write and flush answered OKAY", eax, 0
    mov esi, msg_stream_name
    jmp check_done

; count_not_okay: EBX = first id, ECX = ids; EAX = how many have a status other than OKAY.
count_not_okay:
    push ebx
    push ecx
    xor eax, eax
.next:
    cmp dword [pvb_status + ebx*4], BLKIF_RSP_OKAY
    je .ok
    inc eax
.ok:
    inc ebx
    loop .next
    pop ecx
    pop ebx
    ret

; print_signed: EAX as a signed decimal number.
print_signed:
    push eax
    test eax, eax
    jns .positive
    push eax
    mov al, '-'
    call uart_putc
    pop eax
    neg eax
.positive:
    call print_dec
    pop eax
    ret

; stream_requested: CF = 1 when the multiboot command line holds the word "stream"
; (QEMU and vmxlab pass "<kernel name> <append string>", multiboot 3.3 flags bit 2).
stream_requested:
    pushad
    mov edi, key_stream
    call cmdline_find
    test eax, eax
    jz .no
    mov al, [esi]               ; the whole word: "stream" followed by a space or the end
    test al, al
    jz .yes
    cmp al, ' '
    jne .no
.yes:
    popad
    stc
    ret
.no:
    popad
    clc
    ret

%include "uart.inc"
%include "cmdline.inc"
%include "exit.inc"
%include "desc.inc"
%include "pic.inc"
%include "pvblk.inc"

    FLAT_GDT
idtr:   PSEUDO_DESC idt, 256*8
boot_magic:     dd 0
boot_info:      dd 0
stream_full:    dd 0
stream_upcalls: dd 0

msg_name:       db "pvblk", 0
msg_stream_name: db "pvblk stream", 0
msg_start:      db "pvblk: start", 10, 0
msg_pvblk:      db "pvblk: ", 0
msg_sectors:    db " sectors", 10, 0
msg_full:       db " writes, ring found full ", 0
msg_times:      db " times, ", 0
msg_upcalls:    db " upcalls", 10, 0
msg_unknown:    db "pvblk: operation 0x7F status ", 0
msg_past_end:   db "pvblk: read past the end status ", 0
msg_flushed:    db "flushed ", 0
key_stream:     db "stream", 0

    BSS_BEGIN
idt:            resq 256
pvb_status:     resd PVB_MAX_IDS
    alignb 4096
pvb_ring:       resb 4096
wbuf:           resb WRITES * 512
    alignb 4096
rbuf:           resb WRITES * 512
    alignb 4096
sbuf:           resb STREAM_BATCH * 512
stack:          resb 4096
stack_top:
    BSS_END
