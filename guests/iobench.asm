; output: iobench.elf
; iobench - cycles per KiB through each disk path the machine has, measured with RDTSC
; inside the guest, in this order:
;   ata         ATA PIO (ata.inc): READ/WRITE SECTORS of 8 sectors, FLUSH CACHE (ATA/ATAPI-6)
;   virtio-blk  virtio-blk over virtio-mmio (vblk.inc): one polled request per 4 KiB,
;               VIRTIO_BLK_T_FLUSH (virtio 1.2 5.2.6)
;   pv-blk      the Xen-style PV block device (pvblk.inc): blkif requests of 8 sectors
;               queued on the shared ring, event-channel upcalls, FLUSH_DISKCACHE
; Every path moves 4 KiB per request, so their costs compare. For each path present it
; writes KIB KiB from sector 1, flushes, reads them back into a second buffer and checks
; them, timing set-up (probe and initialisation), the write phase (flush included) and
; the read phase; it prints nothing until the path's last register access, so the run
; report's span for that disk covers only its own work. Output for a path:
;   iobench: ata write KiB: 256
;   iobench: ata set-up cycles: S
;   iobench: ata write cycles per KiB: W
;   iobench: ata read cycles per KiB: R
;   iobench: ata requests without error: ok
;   iobench: ata data read back: ok
; and for a path the machine lacks, one line: "iobench: virtio-blk: no device". The last
; line is "iobench: failed checks: N".
;
; KIB comes from the multiboot command line ("kib=1024"; default 256; a positive multiple
; of 4). The buffers (2 x KIB KiB) live past the image, in the memory the loader reports
; (multiboot mem_upper); each disk needs at least 1 + 2*KIB sectors. A KIB that is not
; usable, too little memory or too small a disk each print one line saying so and count
; as a failed check.
;
; Probing: ATA selects the master and reads Status: 0xFF (no controller: vmxlab without
; --disk, QEMU microvm) or 0x00 (QEMU -M pc with no drive on the channel) means none;
; otherwise IDENTIFY DEVICE must succeed (an ATAPI device aborts it) and gives the size.
; virtio: the lowest transport with DeviceID 2. PV: the magic "XPVB" at 0xFE900000.
;
; S, W and R depend on the machine or on vmxlab's cost profile (docs/guests.md has the
; figures). On QEMU the disk completes asynchronously, so tests compare with numbers
; masked. Exit status: the number of failed checks.

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"

SEL_KCODE       equ 0x08
SEL_KDATA       equ 0x10
DEFAULT_KIB     equ 256
MAX_KIB         equ 0x100000    ; 1 GiB: keeps every size computation below 2^32
CHUNK_SECTORS   equ 8           ; 4 KiB per request on every path
CHUNK_BYTES     equ CHUNK_SECTORS * 512
FIRST_LBA       equ 1           ; sector 0 is left alone (the test disks' signature)
PV_IDS          equ 64          ; PV request ids cycle through 0..63: twice the ring
PV_FLUSH_ID     equ 200
SALT_ATA        equ 0xA7A00000  ; dword i of the data = salt + i, a different salt per path
SALT_VIRTIO     equ 0x71B00000
SALT_PV         equ 0x9FC00000

start:
    cli
    mov [boot_magic], eax
    mov [boot_info], ebx
    LOAD_GDT gdtr, SEL_KCODE, SEL_KDATA
    mov esp, stack_top
    cld
    call uart_init
    ; The loader's command line may lie just past the image (QEMU puts it there), where
    ; the buffers go: read it first.
    call read_kib
    jc .finish
    call place_buffers
    jc .finish
    call path_ata
    call path_virtio
    call path_pv
.finish:
    mov esi, msg_name
    jmp check_done

; ---------------------------------------------------------------- ATA PIO

path_ata:
    mov eax, SALT_ATA
    call prepare_buffers
    call setup_begins
    mov dx, ATA_DEVICE
    mov al, 0xE0                ; the master, LBA (SeaBIOS may leave the slave selected)
    out dx, al
    mov dx, ATA_STATUS
    in al, dx
    cmp al, 0xFF                ; nothing drives the bus: no controller
    je .absent
    test al, al                 ; QEMU's IDE: no drive on this channel
    jz .absent
    mov dx, ATA_CONTROL
    mov al, 0x02                ; nIEN: polled
    out dx, al
    call ata_wait_not_busy
    mov al, 0xEC                ; IDENTIFY DEVICE (ATA-6 8.15)
    call ata_issue
    call ata_wait_drq
    test al, ST_ERR             ; an ATAPI device aborts it
    jnz .absent
    mov edi, identify
    mov ecx, 256
    mov dx, ATA_DATA
    rep insw
    mov eax, [identify + 60*2]  ; words 60-61: sectors addressable with 28-bit LBA
    mov esi, msg_ata
    call disk_large_enough
    jc .done
    call setup_ends

    mov esi, [data_buf]
    mov ebx, FIRST_LBA
.write_cmd:
    mov eax, ebx
    mov cl, CHUNK_SECTORS
    call ata_set_lba
    mov al, 0x30                ; WRITE SECTORS
    call ata_issue
    mov ebp, CHUNK_SECTORS
.write_sector:
    call ata_wait_drq
    test al, ST_ERR
    jnz .error
    mov ecx, 256
    mov dx, ATA_DATA
    rep outsw
    dec ebp
    jnz .write_sector
    add ebx, CHUNK_SECTORS
    cmp ebx, [end_lba]
    jb .write_cmd
    call ata_wait_not_busy
    test al, ST_ERR
    jnz .error
    mov al, 0xE7                ; FLUSH CACHE: the writes count once they are durable
    call ata_issue
    call ata_wait_not_busy
    test al, ST_ERR
    jnz .error
    call write_ends

    mov edi, [readback_buf]
    mov ebx, FIRST_LBA
.read_cmd:
    mov eax, ebx
    mov cl, CHUNK_SECTORS
    call ata_set_lba
    mov al, 0x20                ; READ SECTORS
    call ata_issue
    mov ebp, CHUNK_SECTORS
.read_sector:
    call ata_wait_drq
    test al, ST_ERR
    jnz .error
    mov ecx, 256
    mov dx, ATA_DATA
    rep insw
    dec ebp
    jnz .read_sector
    add ebx, CHUNK_SECTORS
    cmp ebx, [end_lba]
    jb .read_cmd
    call read_ends
    jmp .report
.error:
    inc dword [path_errors]     ; the command was aborted: the path stops here
.report:
    mov esi, msg_ata
    jmp report_path
.absent:
    mov esi, msg_ata
    jmp report_absent
.done:
    ret

; ---------------------------------------------------------------- virtio-blk

path_virtio:
    mov eax, SALT_VIRTIO
    call prepare_buffers
    call setup_begins
    mov eax, VIRTIO_ID_BLOCK
    call virtio_find
    jc .absent
    call vblk_init
    jnc .ready
    mov eax, 1                  ; features or queue refused: only a failure is printed
    mov esi, msg_virtio         ; here, so the set-up span holds no UART output
    mov edi, msg_setup_check
    jmp check_path
.ready:
    mov esi, msg_virtio
    mov eax, [vblk_sectors]
    cmp dword [ebx + VM_CONFIG + 4], 0 ; 5.2.4: capacity is le64
    je .size
    mov eax, 0xFFFFFFFF
.size:
    call disk_large_enough
    jc .done
    call setup_ends

    mov edi, [data_buf]
    mov eax, FIRST_LBA
    mov ecx, CHUNK_SECTORS
.write:
    push eax
    call vblk_write
    call count_vblk_error
    pop eax
    add edi, CHUNK_BYTES
    add eax, CHUNK_SECTORS
    cmp eax, [end_lba]
    jb .write
    test dword [vblk_features], VBLK_F_FLUSH ; without it the device has no write cache to flush (5.2.5)
    jz .written
    call vblk_flush
    call count_vblk_error
.written:
    call write_ends

    mov edi, [readback_buf]
    mov eax, FIRST_LBA
.read:
    push eax
    call vblk_read
    call count_vblk_error
    pop eax
    add edi, CHUNK_BYTES
    add eax, CHUNK_SECTORS
    cmp eax, [end_lba]
    jb .read
    call read_ends
    mov esi, msg_virtio
    jmp report_path
.absent:
    mov esi, msg_virtio
    jmp report_absent
.done:
    ret

; count_vblk_error: EAX = a request's status; anything but VIRTIO_BLK_S_OK counts.
count_vblk_error:
    test eax, eax
    jz .ok
    inc dword [path_errors]
.ok:
    ret

; ---------------------------------------------------------------- PV block

path_pv:
    mov eax, SALT_PV
    call prepare_buffers
    call setup_begins
    cmp dword [PVB_BASE + PVB_MAGIC], PVB_MAGIC_VALUE
    jne .absent
    ; The event-channel upcall is IRQ 11: the 8259 pair at 0x20/0x28, only IRQ 2 (the
    ; cascade) and IRQ 11 unmasked, a gate for vector 0x2B.
    mov edi, idt
    mov ecx, PVB_VECTOR
    mov eax, pvb_irq_handler
    mov bl, GATE_INT0
    call idt_set_gate
    lidt [idtr]
    mov ax, 0xF7FB
    call pic_init_pc
    call pvb_connect
    test eax, eax
    jz .connected
    mov esi, msg_pv             ; EAX: the backend's XenbusState, not Connected
    mov edi, msg_setup_check
    jmp check_path
.connected:
    mov esi, msg_pv
    mov eax, [pvb_sectors]
    cmp dword [PVB_BASE + PVB_SECTORS_LOW + 4], 0 ; the sector count's high dword
    je .size
    mov eax, 0xFFFFFFFF
.size:
    call disk_large_enough
    jc .done
    call setup_ends

    mov al, BLKIF_OP_WRITE
    mov esi, [data_buf]
    call pv_queue_all
    test dword [PVB_BASE + PVB_FEATURES], 1 ; "feature-flush-cache"
    jz .written
    mov ebx, PV_FLUSH_ID
    call pvb_flush
    test eax, eax
    jz .written
    inc dword [path_errors]
.written:
    call write_ends

    mov al, BLKIF_OP_READ
    mov esi, [readback_buf]
    call pv_queue_all
    call read_ends
    mov esi, msg_pv
    jmp report_path
.absent:
    mov esi, msg_pv
    jmp report_absent
.done:
    ret

; pv_queue_all: AL = operation, ESI = buffer. Queues one request of CHUNK_SECTORS per
; chunk (pvb_submit waits while the ring is full), then waits for every answer. Request
; id = chunk mod PV_IDS; an id is reused only after its earlier request was answered (at
; most a ring of 32 is in flight), so its status is checked just before the reuse and,
; for the last PV_IDS requests, after the drain.
pv_queue_all:
    mov edx, FIRST_LBA
    xor ebx, ebx
    mov ecx, CHUNK_SECTORS
    xor edi, edi                ; chunks queued
.next:
    cmp edi, PV_IDS
    jb .fresh
    cmp dword [pvb_status + ebx*4], BLKIF_RSP_OKAY
    je .fresh
    inc dword [path_errors]
.fresh:
    call pvb_make_rw
    call pvb_submit
    add esi, CHUNK_BYTES
    add edx, CHUNK_SECTORS
    inc edi
    inc ebx
    and ebx, PV_IDS - 1
    cmp edx, [end_lba]
    jb .next
    call pvb_drain
    cmp edi, PV_IDS
    jbe .check
    mov edi, PV_IDS
.check:
    dec edi
    cmp dword [pvb_status + edi*4], BLKIF_RSP_OKAY
    je .answered
    inc dword [path_errors]
.answered:
    test edi, edi
    jnz .check
    ret

; ---------------------------------------------------------------- common

; prepare_buffers: EAX = salt. Data dword i = salt + i; the read-back buffer zeroed, so
; that only a read can make it match. Done before the timed span begins.
prepare_buffers:
    mov edi, [data_buf]
    mov ecx, [buffer_dwords]
.fill:
    stosd
    inc eax
    dec ecx
    jnz .fill
    mov edi, [readback_buf]
    mov ecx, [buffer_dwords]
    xor eax, eax
    rep stosd
    mov dword [path_errors], 0
    ret

; The four time marks, RDTSC as a 64-bit count: set-up runs from setup_begins to
; setup_ends, which starts the write phase; write_ends starts the read phase.
setup_begins:
    rdtsc
    mov [t_mark], eax
    mov [t_mark + 4], edx
    ret

setup_ends:
    mov edi, setup_cycles
    jmp lap

write_ends:
    mov edi, write_cycles
    jmp lap

read_ends:
    mov edi, read_cycles
    ; fall through

; lap: EDI = where the cycles since the last mark go (64-bit); the mark moves to now.
lap:
    push ebx
    push ecx
    rdtsc
    mov ebx, eax
    mov ecx, edx
    sub eax, [t_mark]
    sbb edx, [t_mark + 4]
    mov [edi], eax
    mov [edi + 4], edx
    mov [t_mark], ebx
    mov [t_mark + 4], ecx
    pop ecx
    pop ebx
    ret

; report_path: ESI = path name. Prints the path's figures and its two checks, then
; returns to the caller of the path routine.
report_path:
    mov edi, msg_write_kib
    call print_label
    mov eax, [kib]
    call print_dec
    call uart_newline
    mov edi, msg_setup
    call print_label
    mov eax, [setup_cycles]
    cmp dword [setup_cycles + 4], 0
    je .setup
    mov eax, 0xFFFFFFFF         ; more than 2^32 cycles of set-up: printed as 2^32 - 1
.setup:
    call print_dec
    call uart_newline
    mov edi, msg_write_per_kib
    mov ebx, write_cycles
    call print_per_kib
    mov edi, msg_read_per_kib
    mov ebx, read_cycles
    call print_per_kib
    mov eax, [path_errors]
    mov edi, msg_errors_check
    call check_path
    push esi
    mov esi, [data_buf]
    mov edi, [readback_buf]
    mov ecx, [buffer_dwords]
    repe cmpsd
    pop esi
    setne al
    movzx eax, al
    mov edi, msg_readback_check
    jmp check_path

; report_absent: ESI = path name; "iobench: NAME: no device".
report_absent:
    mov edi, msg_absent
    call print_label
    call uart_newline
    ret

; print_label: "iobench: " ESI EDI. Preserves ESI and EDI.
print_label:
    push esi
    push esi
    mov esi, msg_prefix
    call uart_puts
    pop esi
    call uart_puts
    mov esi, edi
    call uart_puts
    pop esi
    ret

; print_per_kib: ESI = path name, EDI = label, EBX = a 64-bit cycle count for KIB KiB.
print_per_kib:
    call print_label
    mov eax, [ebx]
    mov edx, [ebx + 4]
    div dword [kib]             ; fits: the quotient is cycles per KiB
    call print_dec
    jmp uart_newline

; check_path: ESI = path name, EDI = check name, EAX = value got (0 = pass). Prints
; "iobench: NAME CHECK: ok" or the failure (check.inc). CF = 1 when it failed.
check_path:
    push esi
    push edx
    push esi
    mov esi, msg_prefix
    call uart_puts
    pop esi
    call uart_puts
    mov esi, edi
    xor edx, edx
    call check_eq
    pop edx
    pop esi
    test eax, eax               ; clears CF
    jz .ret
    stc
.ret:
    ret

; disk_large_enough: EAX = the disk's sectors, ESI = path name. CF = 1 (the reason
; printed, a failed check counted) when it cannot hold sectors FIRST_LBA..end_lba - 1.
disk_large_enough:
    cmp eax, [end_lba]
    jae .ok
    push eax
    mov edi, msg_small
    call print_label
    call print_dec
    mov esi, msg_small2
    call uart_puts
    mov eax, [kib]
    call print_dec
    mov esi, msg_small3
    call uart_puts
    mov eax, [end_lba]
    call print_dec
    mov esi, msg_small4
    call uart_puts
    pop eax
    inc dword [check_failures]
    stc
    ret
.ok:
    clc
    ret

; read_kib: [kib] from "kib=N" on the multiboot command line (multiboot 3.3 flags bit 2;
; QEMU and vmxlab pass "<kernel name> <append string>"), DEFAULT_KIB without one. CF = 1
; (the reason printed, a failed check counted) when N is not a positive multiple of 4 up
; to MAX_KIB.
read_kib:
    mov dword [kib], DEFAULT_KIB
    mov edi, key_kib
    call cmdline_find
    test eax, eax
    jz .checked
    xor eax, eax
    xor ecx, ecx                ; digits seen
.digit:
    movzx edx, byte [esi]
    cmp dl, 0
    je .end
    cmp dl, ' '
    je .end
    sub edx, '0'
    cmp edx, 9
    ja .bad                     ; not a digit (unsigned: bytes below '0' too)
    imul eax, eax, 10
    add eax, edx
    cmp eax, MAX_KIB
    ja .bad
    inc esi
    inc ecx
    jmp .digit
.end:
    test ecx, ecx
    jz .bad
    mov [kib], eax
.checked:
    mov eax, [kib]
    test eax, eax
    jz .bad
    test eax, 3
    jnz .bad
    shl eax, 1                  ; 2 sectors per KiB
    add eax, FIRST_LBA
    mov [end_lba], eax
    mov eax, [kib]
    shl eax, 8                  ; 256 dwords per KiB
    mov [buffer_dwords], eax
    clc
    ret
.bad:
    mov esi, msg_bad_kib
    call uart_puts
    inc dword [check_failures]
    stc
    ret

; place_buffers: the data and read-back buffers (KIB KiB each, 4 KiB aligned) past the
; image. CF = 1 (the reason printed, a failed check counted) when the memory the loader
; reports above 1 MiB (multiboot 3.3 mem_upper, flags bit 0) cannot hold them.
place_buffers:
    mov eax, image_bss_end + 4095
    and eax, ~4095
    mov [data_buf], eax
    mov edx, [kib]
    shl edx, 10
    add edx, eax
    mov [readback_buf], edx
    cmp dword [boot_magic], MB_BOOT_MAGIC
    jne .no_size
    mov ebx, [boot_info]
    test dword [ebx], 1
    jz .no_size
    sub eax, LOAD_ADDR
    shr eax, 10                 ; KiB above 1 MiB before the buffers
    mov ecx, [kib]
    lea eax, [eax + ecx*2]      ; KiB above 1 MiB the buffers need
    cmp eax, [ebx + 8]          ; mem_upper
    ja .too_little
    clc
    ret
.too_little:
    push eax
    mov esi, msg_memory
    call uart_puts
    mov eax, [kib]
    call print_dec
    mov esi, msg_memory2
    call uart_puts
    pop eax
    call print_dec
    mov esi, msg_memory3
    call uart_puts
    mov eax, [ebx + 8]
    call print_dec
    call uart_newline
    inc dword [check_failures]
    stc
    ret
.no_size:
    mov esi, msg_no_size
    call uart_puts
    inc dword [check_failures]
    stc
    ret

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"
%include "cmdline.inc"
%include "pic.inc"
%include "ata.inc"
%include "virtio.inc"
%include "vblk.inc"
%include "pvblk.inc"

    FLAT_GDT
    align 8, db 0
idtr:           PSEUDO_DESC idt, 256*8
boot_magic:     dd 0
boot_info:      dd 0

msg_name:       db "iobench", 0
msg_prefix:     db "iobench: ", 0
msg_ata:        db "ata", 0
msg_virtio:     db "virtio-blk", 0
msg_pv:         db "pv-blk", 0
msg_absent:     db ": no device", 0
msg_write_kib:  db " write KiB: ", 0
msg_setup:      db " set-up cycles: ", 0
msg_write_per_kib: db " write cycles per KiB: ", 0
msg_read_per_kib: db " read cycles per KiB: ", 0
msg_setup_check: db " set-up", 0
msg_errors_check: db " requests without error", 0
msg_readback_check: db " data read back", 0
msg_small:      db ": the disk has ", 0
msg_small2:     db " sectors; kib=", 0
msg_small3:     db " needs ", 0
msg_small4:     db " sectors", 10, 0
msg_bad_kib:    db "iobench: kib= wants a positive multiple of 4 up to 1048576", 10, 0
msg_memory:     db "iobench: kib=", 0
msg_memory2:    db " needs ", 0
msg_memory3:    db " KiB of memory above 1 MiB; the machine has ", 0
msg_no_size:    db "iobench: the boot loader gave no memory size (multiboot mem_upper)", 10, 0
key_kib:        db "kib=", 0

    BSS_BEGIN
kib:            resd 1
end_lba:        resd 1          ; FIRST_LBA + 2 * KIB: one past the last sector used
buffer_dwords:  resd 1
data_buf:       resd 1
readback_buf:   resd 1
path_errors:    resd 1
t_mark:         resq 1
setup_cycles:   resq 1
write_cycles:   resq 1
read_cycles:    resq 1
idt:            resq 256
identify:       resb 512
pvb_status:     resd PVB_MAX_IDS
    alignb 4096
pvb_ring:       resb 4096
    VBLK_BSS
stack:          resb 4096
stack_top:
    BSS_END
